"""Publication layer: export contract, atomic Parquet datasets, data dictionary, CSV bundles and
the static site (``publish.site``). No Dagster import here: the assets in ``barometre_pipeline.defs`` call these
functions with the export dir from their resource.
"""

from barometre_pipeline.publish.atomic import publish_atomically, write_file_atomically
from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    ContractViolation,
    build_provenance,
    conform_to_contract,
    schema_fingerprint,
)
from barometre_pipeline.publish.csv_bundle import write_csv_bundles
from barometre_pipeline.publish.dictionary import build_data_dictionary, write_data_dictionary
from barometre_pipeline.publish.parquet_export import write_indicators, write_parquet_dataset

__all__ = [
    "CONTRACT_VERSION",
    "ContractViolation",
    "build_data_dictionary",
    "build_provenance",
    "conform_to_contract",
    "publish_atomically",
    "schema_fingerprint",
    "write_csv_bundles",
    "write_data_dictionary",
    "write_file_atomically",
    "write_indicators",
    "write_parquet_dataset",
]
