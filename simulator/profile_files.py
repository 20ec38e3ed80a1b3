"""Where profiles are found. Light on purpose: `simulator up` reads a profile's YAML
(descriptors.precheck) before it imports the schema and the device kinds."""

from __future__ import annotations

from pathlib import Path

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
DEFAULT_PROFILE = "fmc-managed"


class ProfileError(ValueError):
    """A profile that cannot be used; str() is the message for the user."""


def bundled(folder: Path = PROFILES_DIR) -> list[str]:
    """The names of the YAML files bundled in `folder` (profiles, exercises)."""
    return sorted(p.stem for p in folder.glob("*.yaml"))


def resolve_file(ref: str | Path, folder: Path, what: str) -> Path:
    """A file path, or the name (without .yaml) of a file bundled in `folder`; ValueError names
    what is missing and, for a name, the bundled ones."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ValueError(f"{path}: no such {what} file")
        return path
    found = folder / f"{ref}.yaml"
    if not found.exists():
        raise ValueError(f"{ref}: no such {what} (bundled {what}s: {', '.join(bundled(folder))})")
    return found


def resolve(ref: str | Path | None) -> Path:
    """A profile path, or the name of a bundled profile (without .yaml)."""
    try:
        return resolve_file(DEFAULT_PROFILE if ref is None else ref, PROFILES_DIR, "profile")
    except ValueError as exc:
        raise ProfileError(str(exc)) from None
