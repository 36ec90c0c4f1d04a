"""Where the pipeline reads and writes, from the environment (never from the repo).

| variable                  | default                         | meaning                                   |
|---------------------------|---------------------------------|-------------------------------------------|
| BAROMETRE_DATA_DIR        | ./data                          | manifests, raw files, codebook, catalogue |
| BAROMETRE_WAREHOUSE       | <data dir>/warehouse/barometre.duckdb | the DuckDB warehouse (or md:… for MotherDuck) |
| BAROMETRE_EXPORT_DIR      | <data dir>/exports              | published datasets                        |
| BAROMETRE_RESTRICTED_DIR  | <export dir>/../restricted      | partner-only outputs (school funnel plot) |
| BAROMETRE_PSEUDONYM_KEY   | dev key in dev mode only        | secret for keyed-hash pseudonyms          |
| BAROMETRE_MODE            | dev                             | `production` refuses to run without a key |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Documented, deliberately public key: pseudonyms made with it protect nothing, so it is refused in
# production mode. It only lets the synthetic sample run on a fresh machine.
DEV_PSEUDONYM_KEY = "barometre-dev-key-not-secret"

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The environment does not allow this run (e.g. no pseudonym key in production)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse: str
    export_dir: Path
    mode: str
    pseudonym_key: str | None

    restricted_dir: Path | None = None

    @property
    def restricted_export_dir(self) -> Path:
        """School-level outputs for partners only: never under the public export dir."""
        return self.restricted_dir or self.export_dir.parent / "restricted"

    def require_pseudonym_key(self) -> bytes:
        """The key to pseudonymise pilot respondents; the dev key only outside production."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode("utf-8")
        if self.mode == "production":
            raise ConfigurationError(
                "BAROMETRE_PSEUDONYM_KEY is not set: pilot microdata cannot be processed in "
                "production mode without the pseudonymisation secret (set it in the environment, "
                "never in the repo; BAROMETRE_MODE=dev uses a documented, non-secret dev key)"
            )
        return DEV_PSEUDONYM_KEY.encode("utf-8")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("BAROMETRE_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    warehouse = env.get("BAROMETRE_WAREHOUSE") or str(data_dir / "warehouse" / "barometre.duckdb")
    export_dir = Path(env.get("BAROMETRE_EXPORT_DIR") or data_dir / "exports").resolve()
    mode = (env.get("BAROMETRE_MODE") or "dev").strip().lower()
    if mode not in {"dev", "production"}:
        raise ConfigurationError(f"BAROMETRE_MODE must be `dev` or `production`, got {mode!r}")
    return Settings(
        data_dir=data_dir,
        warehouse=warehouse,
        export_dir=export_dir,
        mode=mode,
        pseudonym_key=env.get("BAROMETRE_PSEUDONYM_KEY") or None,
        restricted_dir=Path(env["BAROMETRE_RESTRICTED_DIR"]).resolve()
        if env.get("BAROMETRE_RESTRICTED_DIR") else None,
    )
