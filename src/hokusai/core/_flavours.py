"""Which MLflow flavour logs a model: from ``model_type`` when it names one, else from the model's classes.

Detection looks at the modules of the model's classes (``sklearn.*`` → ``mlflow.sklearn``, a subclass of
``mlflow.pyfunc.PythonModel`` → ``mlflow.pyfunc``), so it needs neither MLflow nor the model's library imported.
An object no flavour knows is refused instead of pickled as a generic pyfunc: a model that cannot be loaded back
is worse than a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

from hokusai._errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Flavour:
    name: str  # what the SDK calls it, also the hokusai.flavour tag
    module: str  # the MLflow module whose log_model logs it
    model_argument: str  # the keyword log_model takes the model as


FLAVOURS: dict[str, Flavour] = {
    flavour.name: flavour
    for flavour in (
        Flavour("sklearn", "mlflow.sklearn", "sk_model"),
        Flavour("xgboost", "mlflow.xgboost", "xgb_model"),
        Flavour("lightgbm", "mlflow.lightgbm", "lgb_model"),
        Flavour("pytorch", "mlflow.pytorch", "pytorch_model"),
        Flavour("pyfunc", "mlflow.pyfunc", "python_model"),
    )
}
ALIASES: dict[str, str] = {
    "scikit-learn": "sklearn",
    "scikit_learn": "sklearn",
    "torch": "pytorch",
    "python": "pyfunc",
    "python_model": "pyfunc",
}
# top-level package of one of the model's classes -> flavour
PACKAGES: dict[str, str] = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "torch": "pytorch"}


def flavour_named(model_type: str | None) -> Flavour | None:
    """The flavour ``model_type`` names (case-insensitive, aliases allowed), or None for a free-form label."""
    if not model_type:
        return None
    name = model_type.strip().lower()
    return FLAVOURS.get(ALIASES.get(name, name))


def detect_flavour(model: object) -> Flavour | None:
    """The flavour the model's own classes point to, or None."""
    for cls in type(model).__mro__:
        if cls.__name__ == "PythonModel" and cls.__module__.startswith("mlflow.pyfunc"):
            return FLAVOURS["pyfunc"]
        package = cls.__module__.split(".", 1)[0]
        if package in PACKAGES:
            return FLAVOURS[PACKAGES[package]]
    return None


def choose_flavour(model: object, model_type: str | None) -> Flavour:
    """The flavour to log ``model`` with; ``model_type`` may name one or be a free-form label (then detected)."""
    named, detected = flavour_named(model_type), detect_flavour(model)
    if named and detected and named != detected:
        raise ConfigurationError(
            f"model_type {model_type!r} says {named.name}, but the model is a {type(model).__qualname__} "
            f"({detected.name}); pass model_type={detected.name!r} or a matching model"
        )
    chosen = named or detected
    if chosen is None:
        known = ", ".join(FLAVOURS)
        raise ConfigurationError(
            f"cannot tell how to log a {type(model).__module__}.{type(model).__qualname__}: pass model_type= one "
            f"of {known}, or wrap the model in an mlflow.pyfunc.PythonModel"
        )
    return chosen
