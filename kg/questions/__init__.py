"""Questions asked of an Explanation: why not, what if, which interventions, when.
They re-run the engine only through :mod:`kg.reasoning`. May import the layers below
(reasoning, inputs, knowledge, errors), never a renderer or an interface."""
