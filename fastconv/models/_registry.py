"""The model registry behind fastconv.models.get_model and list_models."""

_MODELS = {}


def register_model(fn):
    """Decorator: make the constructor `fn` available to get_model under its own name."""
    _MODELS[fn.__name__] = fn
    return fn


def list_models():
    """The names get_model accepts, sorted."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Build the registered model `name` (e.g. 'lenet5', 'resnet18') with keyword arguments
    such as num_classes and in_channels."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)
