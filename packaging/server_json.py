#!/usr/bin/env python3
"""server.json (the MCP Registry entry): check it, or render the copy a release publishes.

  server_json.py check [FILE]                 check FILE (default: the committed server.json)
  server_json.py render --owner O [--mcpb F]  print the release copy, checked: the OWNER
                                              placeholder → the GitHub owner O (lowercase in the
                                              image name), and with --mcpb the mcpb package's
                                              fileSha256 = sha256 of F

No official schema file ships in an npm or PyPI package, so the check covers the fields the
registry documents (docs/reference/server-json in modelcontextprotocol/registry, schema
2025-12-11): required name/description/version, the name pattern, description ≤ 100 characters,
no version ranges, per-package registryType/identifier/transport, version for npm/pypi, a full
image reference for oci, a download URL and fileSha256 for mcpb, and well-formed arguments and
environment variables. It also checks what is ours: every version equals Cargo.toml's, the four
package types are present, DUVO_API_KEY is a required secret in every package that takes it.
Python standard library only.
"""

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SHA = "FILLED_AT_RELEASE"
REGISTRY_TYPES = {"npm", "pypi", "nuget", "oci", "mcpb", "cargo", "go"}
INPUT_FORMATS = {"string", "number", "boolean", "filepath"}
INPUT_FIELDS = {"description", "isRequired", "format", "value", "isSecret", "default",
                "placeholder", "choices", "variables"}
PACKAGE_FIELDS = {"registryType", "registryBaseUrl", "identifier", "version", "fileSha256",
                  "runtimeHint", "transport", "runtimeArguments", "packageArguments",
                  "environmentVariables"}


def cargo_version() -> str:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]


def check_input(where: str, item: dict, errors: list, *, named: bool) -> None:
    extra = set(item) - INPUT_FIELDS - ({"name"} if named else {"type", "name", "valueHint", "isRepeated"})
    if extra:
        errors.append(f"{where}: unknown fields {sorted(extra)}")
    if "format" in item and item["format"] not in INPUT_FORMATS:
        errors.append(f"{where}: format {item['format']!r} not one of {sorted(INPUT_FORMATS)}")
    for flag in ("isRequired", "isSecret", "isRepeated"):
        if flag in item and not isinstance(item[flag], bool):
            errors.append(f"{where}: {flag} must be a boolean")
    for text in ("description", "value", "default", "placeholder"):
        if text in item and not isinstance(item[text], str):
            errors.append(f"{where}: {text} must be a string")


def check(doc: dict) -> list[str]:
    errors: list[str] = []
    version = cargo_version()
    for key in ("name", "description", "version"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            errors.append(f"{key} is required (a non-empty string)")
    if errors:
        return errors
    if not re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", doc["name"]) or len(doc["name"]) > 200:
        errors.append(f"name {doc['name']!r} is not reverse-DNS with exactly one slash")
    if not doc["name"].startswith("io.github.") or not doc["name"].endswith("/duvo-mcp"):
        errors.append("name must be io.github.<owner>/duvo-mcp")
    owner_set = "OWNER" not in json.dumps(doc)
    if len(doc["description"]) > 100:
        errors.append(f"description is {len(doc['description'])} characters (max 100)")
    if doc["version"] != version:
        errors.append(f"version {doc['version']} != Cargo.toml's {version}")
    if not doc.get("$schema", "").startswith("https://static.modelcontextprotocol.io/schemas/"):
        errors.append("$schema must name a published server.schema.json")
    repo = doc.get("repository", {})
    if repo and not {"url", "source"} <= set(repo):
        errors.append("repository needs url and source")
    packages = doc.get("packages", [])
    kinds = [p.get("registryType") for p in packages]
    if sorted(kinds) != ["mcpb", "npm", "oci", "pypi"]:
        errors.append(f"packages must be one each of npm, pypi, mcpb, oci; found {kinds}")
    for i, p in enumerate(packages):
        where = f"packages[{i}] ({p.get('registryType')})"
        extra = set(p) - PACKAGE_FIELDS
        if extra:
            errors.append(f"{where}: unknown fields {sorted(extra)}")
        if p.get("registryType") not in REGISTRY_TYPES:
            errors.append(f"{where}: registryType not one of {sorted(REGISTRY_TYPES)}")
        if not isinstance(p.get("identifier"), str) or not p["identifier"]:
            errors.append(f"{where}: identifier is required")
            continue
        transport = p.get("transport", {})
        if transport.get("type") not in {"stdio", "streamable-http", "sse"}:
            errors.append(f"{where}: transport.type must be stdio, streamable-http or sse")
        if transport.get("type") in {"streamable-http", "sse"} and "url" not in transport:
            errors.append(f"{where}: transport.url is required for {transport['type']}")
        kind = p["registryType"]
        if "version" in p and (p["version"] == "latest" or re.search(r"[\^~<>*x]|\.x", p["version"])):
            errors.append(f"{where}: version must be exact, not a range")
        if kind in {"npm", "pypi"}:
            if p.get("version") != version:
                errors.append(f"{where}: version {p.get('version')} != Cargo.toml's {version}")
            if p["identifier"] != "duvo-mcp":
                errors.append(f"{where}: identifier must be the package name duvo-mcp")
        if kind == "oci" and not p["identifier"].endswith(f"/duvo-mcp:{version}"):
            errors.append(f"{where}: identifier must be a full image reference ending /duvo-mcp:{version}")
        if kind == "mcpb":
            want = f"/releases/download/v{version}/duvo-mcp-{version}.mcpb"
            if not (p["identifier"].startswith("https://github.com/") and p["identifier"].endswith(want)):
                errors.append(f"{where}: identifier must be a GitHub release URL ending {want}")
            if p.get("version", version) != version:
                errors.append(f"{where}: version {p.get('version')} != Cargo.toml's {version}")
            # The committed file holds the placeholder; the release fills it from the built bundle.
            sha = p.get("fileSha256")
            if not (sha == PLACEHOLDER_SHA or (isinstance(sha, str) and re.fullmatch(r"[a-f0-9]{64}", sha))):
                errors.append(f"{where}: fileSha256 must be 64 lowercase hex digits, got {sha!r}")
            if sha != PLACEHOLDER_SHA and not owner_set:
                errors.append(f"{where}: a real fileSha256 belongs in a release copy (owner set)")
        for list_name in ("runtimeArguments", "packageArguments"):
            if list_name in p and "runtimeHint" not in p and list_name == "runtimeArguments":
                errors.append(f"{where}: runtimeArguments need a runtimeHint")
            for j, arg in enumerate(p.get(list_name, [])):
                w = f"{where}.{list_name}[{j}]"
                if arg.get("type") == "positional":
                    if "value" not in arg and "valueHint" not in arg:
                        errors.append(f"{w}: a positional argument needs value or valueHint")
                elif arg.get("type") == "named":
                    if not isinstance(arg.get("name"), str):
                        errors.append(f"{w}: a named argument needs name")
                else:
                    errors.append(f"{w}: type must be positional or named")
                check_input(w, arg, errors, named=False)
        env = p.get("environmentVariables", [])
        for j, var in enumerate(env):
            w = f"{where}.environmentVariables[{j}]"
            if not isinstance(var.get("name"), str) or not var["name"]:
                errors.append(f"{w}: name is required")
            if not var.get("description"):
                errors.append(f"{w}: describe {var.get('name')}")
            check_input(w, var, errors, named=True)
        if kind != "mcpb":
            key = [v for v in env if v.get("name") == "DUVO_API_KEY"]
            if not key or key[0].get("isSecret") is not True or key[0].get("isRequired") is not True:
                errors.append(f"{where}: DUVO_API_KEY must be listed with isSecret and isRequired")
    return errors


def render(doc: dict, owner: str, mcpb: Path | None) -> dict:
    if not re.fullmatch(r"[A-Za-z0-9-]+", owner):
        sys.exit(f"server_json.py: owner {owner!r} is not a GitHub user or organisation name")
    text = json.dumps(doc).replace("ghcr.io/OWNER/", f"ghcr.io/{owner.lower()}/").replace("OWNER", owner)
    out = json.loads(text)
    if mcpb is not None:
        sha = hashlib.sha256(mcpb.read_bytes()).hexdigest()
        for p in out["packages"]:
            if p["registryType"] == "mcpb":
                p["fileSha256"] = sha
    return out


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["check"]:
        path = Path(args[1]) if len(args) > 1 else ROOT / "server.json"
        errors = check(json.loads(path.read_text()))
    elif args[:1] == ["render"] and len(args) in (3, 5) and args[1] == "--owner" and args[3:4] in ([], ["--mcpb"]):
        mcpb = Path(args[4]) if len(args) == 5 else None
        doc = render(json.loads((ROOT / "server.json").read_text()), args[2], mcpb)
        errors = check(doc)
        if not errors:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        sys.exit(__doc__)
    if errors:
        sys.exit("server.json: " + "\n  ".join(["invalid:"] + errors))


if __name__ == "__main__":
    main()
