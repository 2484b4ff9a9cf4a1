"""Where Kubernetes' API round-trip fixtures are, for the scripts: $ETCDSCOPE_K8S_FIXTURES when
set (scripts/test.sh sets it), else whatever scripts/k8s-fixtures.sh finds or fetches (beside the
repository, in the cache, or from the pinned kubernetes/api commit), checked against
testdata/k8s-fixtures.sha256."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def k8s_fixtures():
    d = os.environ.get("ETCDSCOPE_K8S_FIXTURES")
    if d:
        return d
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "k8s-fixtures.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout
    d = out.strip().splitlines()[-1]
    os.environ["ETCDSCOPE_K8S_FIXTURES"] = d
    return d
