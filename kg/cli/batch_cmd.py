"""``painkg batch``: mirrors :func:`kg.batch`.

The runner is in ``kg.cohort``, an interface beside this one that the CLI
does not import: it is reached through the public API (``kg.batch``, which the
package root loads on first use).
"""

from __future__ import annotations

import click

from . import cli
from .options import threshold_option

_FORMATS = ("jsonl", "parquet")


@cli.command("batch")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "out", required=True, metavar="DIR",
              help="Output directory: results.jsonl (or .parquet), rejects.jsonl, summary.json.")
@click.option("--store", metavar="DIR", help="Also load the derivations into this persistent Oxigraph store "
                                             "(created if missing; `painkg query --store DIR` queries it).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Worker processes, each with one engine.")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead of --jobs.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=1000, show_default=True, metavar="N",
              help="Records per chunk: the unit of work, of resuming and of loading into the store.")
@click.option("--summary-only", is_flag=True, help="Leave the full explanation out of each result line.")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="jsonl", show_default=True,
              help="Format of the results (parquet needs pyarrow: pip install 'painkg[cohort]').")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Assess every patient as of this date (YYYY-MM-DD, or +Nd/-Nd from its assessed_on).")
@threshold_option
@click.option("--restart", is_flag=True, help="Discard what an earlier run left in --out and start over.")
@click.option("--keep-chunks", is_flag=True, help="Keep the per-chunk files in DIR/chunks after the run.")
@click.option("--memo", "memo", type=click.IntRange(min=0), default=5_000, show_default=True, metavar="N",
              help="Pieces of reasoning each worker's memo cache keeps (same output, faster; 0 turns it off).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display (it is shown only on a terminal anyway).")
def batch_command(inputs, out, store, jobs, dask_address, chunk_size, summary_only, fmt, as_of, threshold_days,
                  restart, keep_chunks, memo, quiet):
    """Explain a cohort: every patient of INPUT... into --out, streamed and resumable.

    INPUT is an NDJSON file (one patient per line, the JSON contract), a .json
    file (one patient), a directory of such files, or - for standard input.
    Every record ends up in exactly one of results.jsonl (in input order) and
    rejects.jsonl (file, line, the error, the record cut to 1,000
    characters). Run the same command again after an interruption (even
    kill -9) and it resumes, with the same files as an uninterrupted run.
    The exit status is 0 when the run completes, whatever was rejected.
    With --store DIR, query the derivations afterwards with `painkg query
    --store DIR`; on a Dask cluster, add --dask tcp://scheduler:8786 (see
    docs/cohort.md).

    Example:

    \b
        painkg batch examples/ --out run1 --store run1/store --jobs 2
        painkg batch examples/two-injuries.json examples/neck-strain-day16.json --out run2 --summary-only
    """
    import kg

    summary = kg.batch(list(inputs), out, store=store, jobs=jobs, client=dask_address, chunk_size=chunk_size,
                           summary_only=summary_only, format=fmt, as_of=as_of, threshold_days=threshold_days,
                           quiet=quiet, restart=restart, keep_chunks=keep_chunks, memo=memo)
    if not quiet:
        counts = summary["counts"]
        rate = summary["timings"].get("patients_per_second")
        click.echo(f"{counts['records']:,} records: {counts['results']:,} results ({counts['pain_persists']:,} with "
                   f"persistent pain), {counts['rejects']:,} rejected"
                   + (f"; {rate:,.0f} patients/s" if rate else "")
                   + f"; see {out.rstrip('/')}/summary.json", err=True)
