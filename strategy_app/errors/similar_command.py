"""``similar``: the dev errors nearest to one example, by cosine distance of the embeddings."""

from __future__ import annotations

from strategy_app.shell.flags import add_json_flag


def register(subparsers) -> None:
    """Add the ``similar`` command."""
    parser = subparsers.add_parser(
        "similar",
        help="the dev errors most like one example (find similar)",
        description="List the dev errors nearest to a dev example by cosine distance of the "
        "embeddings: emb_0 … emb_k columns or an 'embedding' list column of the file, else "
        "computed from a 'text' column (TF-IDF + SVD) or from the images in 'input' (PCA).",
    )
    parser.add_argument("predictions", help="predictions file (CSV or Parquet)")
    parser.add_argument("--id", required=True, dest="example", help="the dev example's id")
    parser.add_argument("--k", type=int, help="how many neighbours (default 12)")
    parser.add_argument(
        "--images",
        metavar="DIR",
        help="folder the image paths are relative to, local or in object storage "
        "(s3://bucket/folder/; default: the file's)",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run(args) -> tuple[dict, str]:
    """Find the neighbours; returns (JSON data, text)."""
    from diagnostics.similar import (  # loaded when run, not when registered
        DEFAULT_NEIGHBOURS,
        NeighbourIndex,
        find_similar,
        neighbour_rows,
    )
    from strategy_app.errors.similar import read_embedded

    predictions, dev = read_embedded(args.predictions, images=args.images)
    index = NeighbourIndex(dev.error_vectors())
    k = DEFAULT_NEIGHBOURS if args.k is None else args.k
    ids, distances = find_similar(dev, args.example, k, index=index)
    data = {
        "id": str(args.example),
        "embedding": dev.embeddings.to_dict(),
        "search": index.method,
        "dev_errors": len(index),
        "neighbours": neighbour_rows(predictions, dev, ids, distances),
    }
    return data, _render(data)


def _render(data: dict) -> str:
    lines = [
        f"Dev errors most like {data['id']} ({data['search']} cosine search over "
        f"{data['dev_errors']:,} dev errors)",
        f"Embedding: {data['embedding']['method']}",
        *(f"  note: {note}" for note in data["embedding"]["notes"]),
        f"  {'id':<20}{'distance':>10}  true → predicted",
    ]
    for row in data["neighbours"]:
        shown = row.get("text") or row.get("input") or ""
        lines.append(
            f"  {str(row['id'])[:19]:<20}{row['distance']:>10.4f}  {row.get('y_true')} → "
            f"{row.get('y_pred')}  {str(shown)[:60]}"
        )
    return "\n".join(lines)
