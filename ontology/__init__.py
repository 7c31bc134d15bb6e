"""The painkg ontology as Turtle files (installed as the resource package ``kg.ontology``)."""
