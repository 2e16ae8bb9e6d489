"""Hugging Face datasets as tables: ``hf:PATH`` or ``hf:PATH#HF_SPLIT=SPLIT,…``.

``PATH`` is a folder written by ``datasets``' ``save_to_disk`` (a ``DatasetDict``, one
sub-folder per split, or a single ``Dataset``), or a Parquet export of one (a folder of
``SPLIT.parquet`` or ``SPLIT-00000-of-00002.parquet`` files, as the Hub lays them out). The
Arrow files are read with pyarrow directly, so reading needs neither ``datasets`` nor a network.

The splits become the ``split`` column: each split's name goes through the mapping the user
names after ``#`` (``validation=dev,holdout=train_dev``; only the mapped splits are read), or
without one must itself be a split name or alias (``validation`` is ``dev``). A single dataset
keeps its own ``split`` column, its values renamed by the mapping. Every refusal is one
:class:`~diagnostics.validation.InputError` naming the dataset and the splits it has.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from diagnostics.splitnames import SPLIT_ALIASES, accepted_split_names
from diagnostics.validation import InputError

PREFIX = "hf:"


def is_hf(spec: object) -> bool:
    """True for an ``hf:…`` dataset."""
    return isinstance(spec, str) and spec.startswith(PREFIX)


def parse_hf(spec: str) -> tuple[Path, dict[str, str] | None]:
    """The folder and the split mapping (HF split → split name; None when not named)."""
    path, _, mapping = spec[len(PREFIX) :].partition("#")
    if not mapping:
        return Path(path), None
    pairs: dict[str, str] = {}
    for item in mapping.split(","):
        source, equals, target = (part.strip() for part in item.partition("="))
        canonical = SPLIT_ALIASES.get(target.lower())
        if not equals or not source or canonical is None:
            raise InputError(
                f"{spec}: the split mapping '{item.strip()}' is not HF_SPLIT=SPLIT with SPLIT one "
                f"of {accepted_split_names()} (e.g. hf:PATH#validation=dev,test=test)"
            )
        pairs[source] = canonical
    return Path(path), pairs


def read_hf_table(spec: str) -> pa.Table:
    """The dataset at ``spec`` as one table with a ``split`` column (see the module's doc)."""
    folder, mapping = parse_hf(spec)
    if not folder.is_dir():
        raise InputError(
            f"{spec}: no dataset folder {folder}; give the folder datasets' save_to_disk wrote "
            "(or a folder of Parquet files)"
        )
    parts = _splits(folder, spec)
    if parts is None:  # a single dataset: its own split column
        table = _arrow_table(folder, spec)
        if "split" not in table.column_names:
            raise InputError(
                f"{spec}: a single dataset with no 'split' column; save a DatasetDict (one "
                "split each) or add a split column"
            )
        if mapping:
            import pyarrow.compute as pc  # here only: every `diagnose` imports this module

            index = table.column_names.index("split")
            written = pc.cast(table.column("split"), pa.string()).combine_chunks()
            encoded = pc.dictionary_encode(written)
            names = [mapping.get(v, v) for v in encoded.dictionary.to_pylist()]
            renamed = pa.DictionaryArray.from_arrays(encoded.indices, pa.array(names, pa.string()))
            table = table.set_column(index, "split", renamed.cast(pa.string()))
        return table
    names = list(parts)
    if mapping is None:
        unknown = [name for name in names if name.lower() not in SPLIT_ALIASES]
        if unknown:
            raise InputError(
                f"{spec}: split '{unknown[0]}' is not one of {accepted_split_names()}; name the "
                f"mapping after '#': hf:{folder}#{','.join(f'{n}=SPLIT' for n in names)}"
            )
        mapping = {name: SPLIT_ALIASES[name.lower()] for name in names}
    missing = [name for name in mapping if name not in parts]
    if missing:
        raise InputError(
            f"{spec}: the dataset has no split '{missing[0]}'; its splits: {', '.join(names)}"
        )
    tables = []
    for name, target in mapping.items():
        table = parts[name]
        if "split" in table.column_names:
            table = table.drop_columns(["split"])
        tables.append(table.append_column("split", pa.repeat(target, table.num_rows)))
    try:
        return pa.concat_tables(tables, promote_options="default")
    except pa.ArrowInvalid as exc:
        raise InputError(f"{spec}: its splits have different columns ({exc})") from None


def _splits(folder: Path, spec: str) -> dict[str, pa.Table] | None:
    """Each split's table (a DatasetDict or a Parquet export), or None for a single dataset."""
    listing = folder / "dataset_dict.json"
    if listing.is_file():
        names = json.loads(listing.read_text())["splits"]
        return {name: _arrow_table(folder / name, spec) for name in names}
    if (folder / "state.json").is_file():
        return None
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise InputError(
            f"{spec}: {folder} holds no dataset (no dataset_dict.json, state.json or Parquet "
            "files); give the folder datasets' save_to_disk wrote"
        )
    grouped: dict[str, list[Path]] = {}
    for file in files:
        grouped.setdefault(file.name.split(".")[0].split("-")[0], []).append(file)
    return {
        name: pa.concat_tables(pq.read_table(f) for f in found) for name, found in grouped.items()
    }


def _arrow_table(folder: Path, spec: str) -> pa.Table:
    """The rows of one saved ``Dataset`` (its Arrow stream files, in order)."""
    try:
        state = json.loads((folder / "state.json").read_text())
        files = [folder / entry["filename"] for entry in state["_data_files"]]
        tables = []
        for file in files:
            with pa.memory_map(str(file)) as source:
                tables.append(pa.ipc.open_stream(source).read_all())
    except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
        raise InputError(
            f"{spec}: {folder} is not a readable saved dataset ({type(exc).__name__}: "
            f"{str(exc)[:200]}); save it again with save_to_disk"
        ) from None
    return pa.concat_tables(tables)
