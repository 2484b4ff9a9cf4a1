#!/usr/bin/env python3
"""A read-only stand-in for kube-apiserver, so that real kubectl can print objects we give it.

tests/kubectl_print.rs uses it to compare `etcdscope get`'s table decorations (--show-labels,
-L, --no-headers, --ignore-not-found, kubectl's "No resources found") with kubectl's own
printing of the same objects. The server decides nothing about layout: it answers discovery
(/api, /apis, /api/v1, /apis/GROUP/VERSION) for the types in SPEC, and lists and gets as
kube-apiserver does: a meta.k8s.io/v1 Table when kubectl asks for one (server-side printing:
the columns and cells SPEC gives, each row with the object's metadata, which kubectl decorates),
else the objects themselves; a NotFound Status for a name that is not there. A namespace exists
when an object served is in it. A type with a "refusal" answers a list with a fieldSelector as
kube-apiserver answers one whose field the resource does not accept: a 400 BadRequest Status
with that message (the rows of the other types are the ones the selector selects already).

SPEC (JSON): {"types": [{"group": "", "version": "v1", "resource": "pods", "kind": "Pod",
"singular": "pod", "namespaced": true, "columns": ["NAME", ...],
"rows": [{"cells": [...], "object": {...}}], "refusal": "field label not supported: ..."}]}

Usage: kubectl_api.py SPEC. Listens on 127.0.0.1, a free port, printed as the first line of
standard output; serves until killed.
"""

import http.server
import json
import sys
import urllib.parse


def load(path):
    with open(path) as f:
        return json.load(f)["types"]


TYPES = load(sys.argv[1])


def group_version(t):
    return f"{t['group']}/{t['version']}" if t["group"] else t["version"]


def resource_list(gv):
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": [
            {"name": t["resource"], "singularName": t["singular"], "namespaced": t["namespaced"], "kind": t["kind"], "verbs": ["get", "list"]}
            for t in TYPES
            if group_version(t) == gv
        ],
    }


def groups():
    names = sorted({t["group"] for t in TYPES if t["group"]})
    out = []
    for g in names:
        versions = sorted({t["version"] for t in TYPES if t["group"] == g})
        gvs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        out.append({"name": g, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}


def route(path):
    """(type, namespace or None, name or None) for a resource path, or None."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        gv, rest = parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if len(rest) not in (1, 2):
        return None
    for t in TYPES:
        if group_version(t) == gv and t["resource"] == rest[0]:
            return t, namespace, rest[1] if len(rest) == 2 else None
    return None


def table(t, rows):
    columns = [{"name": c, "type": "string", "format": "name" if i == 0 else "", "description": "", "priority": 0} for i, c in enumerate(t["columns"])]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": columns,
        "rows": [
            {"cells": r["cells"], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": r["object"]["metadata"]}}
            for r in rows
        ],
    }


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, body, code=200):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def not_found(self, what, name):
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": f'{what} "{name}" not found', "reason": "NotFound"}
        self.reply({**status, "details": {"name": name, "kind": what.split(".")[0]}, "code": 404}, 404)

    def namespace(self, name):
        """A namespace exists when an object served is in it (kubectl asks after a NotFound)."""
        if not any(r["object"]["metadata"].get("namespace") == name for t in TYPES for r in t["rows"]):
            return self.not_found("namespaces", name)
        self.reply({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}, "status": {"phase": "Active"}})

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/api":
            return self.reply({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            return self.reply(groups())
        if path == "/api/v1":
            return self.reply(resource_list("v1"))
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
            return self.namespace(parts[3])
        if parts[0] == "apis" and len(parts) == 3:
            return self.reply(resource_list(f"{parts[1]}/{parts[2]}"))
        found = route(path)
        if found is None:
            return self.reply({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}, 404)
        t, namespace, name = found
        field_selector = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("fieldSelector", [""])[0]
        if field_selector and t.get("refusal"):
            status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": t["refusal"], "reason": "BadRequest"}
            return self.reply({**status, "code": 400}, 400)
        rows = [r for r in t["rows"] if namespace is None or r["object"]["metadata"].get("namespace") == namespace]
        as_table = "as=Table" in self.headers.get("Accept", "")
        if name is not None:
            rows = [r for r in rows if r["object"]["metadata"]["name"] == name]
            if not rows:
                return self.not_found(f"{t['resource']}.{t['group']}" if t["group"] else t["resource"], name)
            return self.reply(table(t, rows) if as_table else rows[0]["object"])
        if as_table:
            return self.reply(table(t, rows))
        return self.reply({"kind": t["kind"] + "List", "apiVersion": group_version(t), "metadata": {"resourceVersion": "1"}, "items": [r["object"] for r in rows]})


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
