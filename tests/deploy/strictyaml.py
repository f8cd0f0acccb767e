"""strictyaml: a YAML loader for the deployment checks (tests/deploy) that refuses what
PyYAML's safe loader lets through and Kubernetes or compose would read differently: a
key given twice in one mapping (the last silently wins), and YAML 1.1's surprise
booleans (yes/no/on/off) where a string was meant. Multi-document files load as a list."""
import yaml


class StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`: its keys may be overridden here, that is its point
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _bool(loader, node):
    value = loader.construct_scalar(node)
    if value not in ("true", "false", "True", "False", "TRUE", "FALSE"):
        raise yaml.constructor.ConstructorError(
            None, None, f"{value!r} is a boolean only in YAML 1.1: quote it or write true/false",
            node.start_mark)
    return value.lower() == "true"


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
StrictLoader.add_constructor("tag:yaml.org,2002:bool", _bool)


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]


def load(path):
    docs = load_all(path)
    if len(docs) != 1:
        raise ValueError(f"{path}: {len(docs)} documents, expected one")
    return docs[0]
