"""A Hugging Face Hub stand-in on loopback: the real ``huggingface_hub`` client talks to it in tests.

It speaks the part of the Hub HTTP API that ``wm`` reaches through huggingface_hub 2.x
(``whoami``, ``create_repo``, ``create_branch``, ``model_info``/``repo_info``, ``upload_folder``,
``list_repo_tree``, ``hf_hub_download``/``snapshot_download``):

    GET       /api/whoami-v2                           the user behind the token
    POST      /api/validate-yaml                       a README's metadata block must be a YAML mapping
    POST      /api/repos/create                        new model repo, first commit holds .gitattributes
    POST      /api/models/{repo}/branch/{branch}       branch from main (or the body's ``startingPoint``)
    GET       /api/models/{repo}/refs                  branches
    GET       /api/models/{repo}[/revision/{rev}]      repo info: id, sha, private, siblings
    POST      /api/models/{repo}/preupload/{rev}       upload mode per file: always "regular"
    POST      /api/models/{repo}/commit/{rev}          NDJSON commit: header, file (base64), deletedFile/Folder
    POST      /api/models/{repo}/discussions           a pull request (``create_pr``): ref refs/pr/N from main
    GET       /api/models/{repo}/discussions/{N}       that pull request's details
    GET       /api/models/{repo}/tree/{rev}[/{path}]   file listing, recursive or not, one page
    HEAD|GET  /{repo}/resolve/{rev}/{path}             a file, with ETag (git blob id), X-Repo-Commit,
                                                       Content-Length; GET honours ``Range: bytes=N-``

Dataset repos answer the same routes under ``/api/datasets/...`` and ``/datasets/{repo}/resolve/...``
(``create_repo(repo_type="dataset")``, ``upload_folder``, ``snapshot_download(repo_type="dataset")``).

Not covered: LFS and Xet transfers (every preupload answer is "regular", so the client sends file
contents base64 inside the commit), spaces, discussions other than pull requests (a pull
request is its ref and its title), tags, pagination, gated repos, and the client's side requests
(``/api/agent-harnesses`` gets a 404, which the client shrugs off).

As on the Hub: errors carry ``X-Error-Code`` (RepoNotFound, RevisionNotFound, EntryNotFound); a
private repo looks absent (401 RepoNotFound) to anyone but its owner; writing needs a token (401) and
the namespace of its user (403). A commit is applied all at once or not at all. ``fail(operation)``
makes the next request(s) of an operation ("create", "preupload", "commit", "download") answer 500,
after reading the request body: the upload arrived, nothing was applied.

Repos live in a folder: ``{root}/{namespace}/{name}/repo.json`` (refs, commits, visibility) and
``objects/{git blob id}``; dataset repos under ``{root}/datasets/``.

The client is pointed at it with HF_ENDPOINT. huggingface_hub reads HF_ENDPOINT (and HF_HOME,
HF_HUB_OFFLINE) into ``huggingface_hub.constants`` once, at import, and builds each ``HfApi`` and
download URL from those constants, so ``point_client_at`` sets the environment (for ``wm``
subprocesses) and patches the constants (for this process). The ``hub`` fixture does both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

TOKEN = "hf_standin_alice"
USER = "alice"
GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.gif filter=lfs diff=lfs merge=lfs -text\n"


class HubError(Exception):
    """An HTTP error answer: status, X-Error-Code and message."""

    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.commit, self.extra = status, message, code, commit, extra


def blob_id(content: bytes) -> str:
    """Git's blob id, the ETag the Hub gives regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    """One model repo on disk: refs -> commit ids, commits -> {path: blob id}, pull request titles."""

    path: Path
    private: bool = False
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[str, str] = field(default_factory=dict)  # "N" -> title; its ref is refs/pr/N

    def save(self) -> None:
        tmp = self.path / "repo.json.tmp"
        state = {"private": self.private, "refs": self.refs, "commits": self.commits, "pulls": self.pulls}
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path / "repo.json")

    def resolve(self, revision: str) -> str:
        if revision in self.refs:
            return self.refs[revision]
        if revision in self.commits:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def files(self, revision: str) -> dict[str, str]:
        return self.commits[self.resolve(revision)]["files"]

    def read(self, oid: str) -> bytes:
        return (self.path / "objects" / oid).read_bytes()

    def commit(self, branch: str, message: str, files: dict[str, str]) -> str:
        parent = self.refs.get(branch)
        sha = hashlib.sha1(json.dumps([parent, message, files, len(self.commits)]).encode()).hexdigest()
        self.commits[sha] = {"parent": parent, "message": message, "files": files}
        self.refs[branch] = sha
        self.save()
        return sha


class StandInHub:
    """The Hub's state: users (by token), repos in ``root``, injected failures, a request log."""

    def __init__(self, root: Path, tokens: dict[str, str]) -> None:
        self.root = root
        self.tokens = tokens
        self.url = ""
        self.requests: list[tuple[str, str]] = []
        self.failures: dict[str, int] = {}
        self.lock = threading.RLock()

    def fail(self, operation: str, times: int = 1) -> None:
        """Answer 500 to the next ``times`` requests of ``operation``."""
        self.failures[operation] = times

    def maybe_fail(self, operation: str) -> None:
        with self.lock:
            if self.failures.get(operation, 0) > 0:
                self.failures[operation] -= 1
                raise HubError(500, f"stand-in failure injected in {operation}")

    def repo(self, repo_id: str, user: str | None, *, write: bool = False, kind: str = "models") -> Repo:
        path = self.root / ("datasets" if kind == "datasets" else "") / repo_id
        if not (path / "repo.json").is_file():
            raise HubError(401 if user is None else 404, f"Repository {repo_id} not found", "RepoNotFound")
        state = json.loads((path / "repo.json").read_text())
        repo = Repo(path, state["private"], state["refs"], state["commits"], state.get("pulls", {}))
        owner = repo_id.split("/")[0]
        if repo.private and user != owner:
            raise HubError(401 if user is None else 404, f"Repository {repo_id} not found", "RepoNotFound")
        if write and user is None:
            raise HubError(401, "Invalid username or password.")
        if write and user != owner:
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def create_repo(self, user: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if user is None:
            raise HubError(401, "Invalid username or password.")
        namespace = body.get("organization") or user
        if namespace != user:
            raise HubError(403, f"You don't have the rights to create a model under the namespace {namespace}")
        repo_id = f"{namespace}/{body['name']}"
        prefix = "datasets/" if body.get("type") == "dataset" else ""
        path = self.root / (prefix + repo_id)
        if (path / "repo.json").is_file():
            raise HubError(409, "You already created this model repo", url=f"{self.url}/{repo_id}")
        (path / "objects").mkdir(parents=True)
        repo = Repo(path, private=body.get("visibility") == "private" or bool(body.get("private")))
        oid = self.store(repo, GITATTRIBUTES)
        repo.commit("main", "initial commit", {".gitattributes": oid})
        return {"url": f"{self.url}/{prefix}{repo_id}", "name": repo_id, "id": repo_id}

    def store(self, repo: Repo, content: bytes) -> str:
        oid = blob_id(content)
        target = repo.path / "objects" / oid
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(content)
            os.replace(tmp, target)
        return oid

    def open_pull_request(self, repo: Repo, title: str) -> int:
        """Pull request N: a new ref ``refs/pr/N`` at main's head, which the client then commits to."""
        number = len(repo.pulls) + 1
        repo.pulls[str(number)] = title
        repo.refs[f"refs/pr/{number}"] = repo.resolve("main")
        repo.save()
        return number

    def apply_commit(self, repo: Repo, revision: str, lines: list[dict[str, Any]]) -> str:
        if revision not in repo.refs:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        files = dict(repo.files(revision))
        header: dict[str, Any] = {}
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "header":
                header = value
            elif key == "file":
                files[value["path"]] = self.store(repo, base64.b64decode(value["content"]))
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: o for p, o in files.items() if not p.startswith(prefix)}
            else:
                raise HubError(400, f"the stand-in Hub does not accept '{key}' commit lines (only regular files)")
        parent = header.get("parentCommit")
        if parent and parent != repo.refs[revision]:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        return repo.commit(revision, header.get("summary", ""), files)


class Handler(BaseHTTPRequestHandler):
    """Routes requests to ``StandInHub``; every answer has a Content-Length (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_HEAD(self) -> None:
        self.route("HEAD")

    def do_POST(self) -> None:
        self.route("POST")

    @property
    def hub(self) -> StandInHub:
        return self.server.hub

    def route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.hub.requests.append((method, url.path))
        auth = self.headers.get("Authorization", "")
        user = self.hub.tokens.get(auth.removeprefix("Bearer ").strip()) if auth else None
        if auth and user is None:
            return self.send_json(401, {"error": "Invalid credentials in Authorization header"},
                                  {"X-Error-Message": "Invalid credentials in Authorization header"})
        try:
            with self.hub.lock:
                self.dispatch(method, parts, parse_qs(url.query), body, user)
        except HubError as err:
            headers = {"X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            if err.commit:
                headers["X-Repo-Commit"] = err.commit
            self.send_json(err.status, {"error": err.message, **err.extra}, headers)

    def dispatch(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes, user: str | None
    ) -> None:
        hub = self.hub
        if parts[:2] == ["api", "whoami-v2"]:
            if user is None:
                raise HubError(401, "Invalid username or password.")
            return self.send_json(200, {"type": "user", "name": user, "orgs": [],
                                        "auth": {"type": "access_token", "accessToken": {"role": "write"}}})
        if parts[:2] == ["api", "validate-yaml"]:
            return self.send_json(*validate_card(json.loads(body)["content"]))
        if parts[:3] == ["api", "repos", "create"]:
            hub.maybe_fail("create")
            return self.send_json(200, hub.create_repo(user, json.loads(body or b"{}")))
        if parts[:2] in (["api", "models"], ["api", "datasets"]) and len(parts) >= 4:
            return self.api_model(method, "/".join(parts[2:4]), parts[4:], query, body, user, kind=parts[1])
        if len(parts) >= 6 and parts[0] == "datasets" and parts[3] == "resolve":
            return self.resolve(method, "/".join(parts[1:3]), parts[4], "/".join(parts[5:]), user, kind="datasets")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(method, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), user)
        raise HubError(404, f"the stand-in Hub has no route for {method} {self.path}")

    def api_model(self, method: str, repo_id: str, rest: list[str], query: dict[str, list[str]], body: bytes,
                  user: str | None, kind: str = "models") -> None:
        hub = self.hub
        action = rest[0] if rest else "revision"
        revision = rest[1] if len(rest) > 1 else "main"
        if action == "branch" and method == "POST":
            repo = hub.repo(repo_id, user, write=True, kind=kind)
            if revision in repo.refs:
                raise HubError(409, f"Reference {revision} already exists")
            start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
            repo.refs[revision] = repo.resolve(start)
            repo.save()
            return self.send_json(200, {})
        repo = hub.repo(repo_id, user, write=method == "POST", kind=kind)
        if action == "refs":
            branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo.refs.items()]
            return self.send_json(200, {"branches": branches, "tags": [], "converts": []})
        if action == "revision":
            sha = repo.resolve(revision)
            siblings = [{"rfilename": p} for p in sorted(repo.commits[sha]["files"])]
            return self.send_json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                                        "siblings": siblings, "tags": [], "downloads": 0, "likes": 0})
        if action == "preupload":
            hub.maybe_fail("preupload")
            current = repo.files(revision) if revision in repo.refs else {}
            files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": current.get(f["path"])}
                     for f in json.loads(body)["files"]]
            return self.send_json(200, {"files": files, "commitOid": repo.refs.get(revision)})
        if action == "commit":
            hub.maybe_fail("commit")
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            sha = hub.apply_commit(repo, revision, lines)
            return self.send_json(200, {"success": True, "commitOid": sha, "commitMessage": "", "hookOutput": "",
                                        "commitUrl": f"{hub.url}/{repo_id}/commit/{sha}"})
        if action == "discussions" and method == "POST":
            request = json.loads(body or b"{}")
            if not request.get("pullRequest"):
                raise HubError(400, "the stand-in Hub opens pull requests only, not discussions")
            return self.send_json(200, {"num": hub.open_pull_request(repo, request.get("title", ""))})
        if action == "discussions" and len(rest) > 1:
            number = rest[1]
            if f"refs/pr/{number}" not in repo.refs:
                raise HubError(404, f"Discussion {number} not found")
            return self.send_json(200, {
                "num": int(number), "title": repo.pulls[number], "author": {"name": repo_id.split("/")[0]},
                "createdAt": "2026-01-01T00:00:00.000Z", "status": "draft", "isPullRequest": True, "events": [],
                "repo": {"name": repo_id, "type": "model"}, "changes": {"base": "refs/heads/main"},
                "filesWithConflicts": [],
            })  # fmt: skip
        if action == "tree":
            prefix = "/".join(rest[2:])
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            return self.send_json(200, tree(repo, repo.files(revision), prefix, recursive))
        raise HubError(404, f"the stand-in Hub has no route for {method} {self.path}")

    def resolve(self, method: str, repo_id: str, revision: str, filename: str, user: str | None,
                kind: str = "models") -> None:
        repo = self.hub.repo(repo_id, user, kind=kind)
        sha = repo.resolve(revision)
        oid = repo.commits[sha]["files"].get(filename)
        if oid is None:
            raise HubError(404, f"Entry not found: {filename}", "EntryNotFound", commit=sha)
        if method == "GET":
            self.hub.maybe_fail("download")
        content = repo.read(oid)
        start = range_start(self.headers.get("Range"))
        headers = {"ETag": f'"{oid}"', "X-Repo-Commit": sha, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        status = 200
        if start and method == "GET":
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            content = content[start:]
        self.send_bytes(status, content, headers, body=method == "GET")

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def send_bytes(self, status: int, content: bytes, headers: dict[str, str], body: bool = True) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if body:
            self.wfile.write(content)


def tree(repo: Repo, files: dict[str, str], prefix: str, recursive: bool) -> list[dict[str, Any]]:
    """Entries of a tree listing under ``prefix``, as ``/api/models/{repo}/tree`` answers."""
    base = prefix.strip("/") + "/" if prefix.strip("/") else ""
    entries: dict[str, dict[str, Any]] = {}
    for path, oid in sorted(files.items()):
        if not path.startswith(base):
            continue
        rest = path[len(base):]
        if "/" in rest and not recursive:
            folder = base + rest.split("/")[0]
            entries[folder] = {"type": "directory", "path": folder, "oid": blob_id(folder.encode()), "size": 0}
            continue
        entries[path] = {"type": "file", "path": path, "oid": oid, "size": len(repo.read(oid))}
    return list(entries.values())


def validate_card(content: str) -> tuple[int, dict[str, Any]]:
    """The answer to /api/validate-yaml: 400 with errors unless the front matter is a YAML mapping."""
    import yaml

    match = re.match(r"^---\n(.*?)\n---\n", content, re.DOTALL)
    try:
        metadata = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError as err:
        return 400, {"errors": [{"message": f"invalid YAML: {err}"}], "warnings": []}
    if not isinstance(metadata, dict):
        return 400, {"errors": [{"message": "metadata must be a YAML mapping"}], "warnings": []}
    return 200, {"errors": [], "warnings": []}


def range_start(header: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match.group(1)) if match else 0


@contextmanager
def serve(root: Path, tokens: dict[str, str] | None = None) -> Iterator[StandInHub]:
    """Run a stand-in Hub on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    hub = StandInHub(root, tokens or {TOKEN: USER})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.hub = hub  # type: ignore[attr-defined]
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="hub-stand-in", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def point_client_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path, token: str | None) -> None:
    """Send this process's huggingface_hub (and any ``wm`` subprocess, through the environment) to ``url``.

    huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE into ``huggingface_hub.constants``
    when it is first imported, so the constants are patched here as well as the environment.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    env = {"HF_ENDPOINT": url, "HF_HOME": str(home), "HF_HUB_DISABLE_PROGRESS_BARS": "1",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN_PATH", "HUGGING_FACE_HUB_TOKEN", "HF_XET_CACHE"):
        monkeypatch.delenv(key, raising=False)
    set_token(monkeypatch, token)
    patches = {
        "ENDPOINT": url,
        "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_XET_CACHE": str(home / "xet"),
        "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
        "HF_HUB_OFFLINE": False,
    }
    for key, value in patches.items():
        monkeypatch.setattr(constants, key, value)


def set_token(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    """Log the client in with ``token`` (through HF_TOKEN), or out when None."""
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)


def set_offline(monkeypatch: pytest.MonkeyPatch, offline: bool) -> None:
    """HF_HUB_OFFLINE for this process (the constant) and for subprocesses (the environment)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInHub]:
    """A running stand-in Hub, the client pointed at it, logged in as ``alice``, caches in tmp_path."""
    with serve(tmp_path / "hub-server") as running:
        point_client_at(monkeypatch, running.url, tmp_path / "hf-home", TOKEN)
        yield running
