# SPDX-License-Identifier: GPL-2.0-or-later
"""Layers and images made to hurt: a blob that lies about its diff id, size and
inode bombs, configs that are not JSON, odd but legitimate tar entries."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from test_den_run import den  # noqa: F401 (fixture)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(entries):
    """entries: (TarInfo, data or None)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_entry(name, data, **kw):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode = len(data), 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def small_tar(text=b"hello\n", name="hello"):
    return tar_bytes([file_entry(name, text)])


def oci_archive(path, layers, diff_ids=None, config=None, name="localhost/hostile:1"):
    """an oci-archive: layers as (blob bytes, media type); the config's diff ids
    are the given ones (default: the blobs' own digests)"""
    blobs = {}

    def blob(data):
        d = sha(data)
        blobs[d] = data
        return {"digest": d, "size": len(data)}
    if config is None:
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha(b) for b, _ in layers]}}).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": dict(blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
           "layers": [dict(blob(b), mediaType=mt) for b, mt in layers]}
    mb = json.dumps(man).encode()
    md = blob(mb)
    idx = {"schemaVersion": 2, "manifests": [dict(md, mediaType=man["mediaType"],
                                                   annotations={"org.opencontainers.image.ref.name": name})]}
    with tarfile.open(path, "w") as t:
        def add(n, data):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(idx).encode())
        for d, data in blobs.items():
            add("blobs/sha256/" + d[7:], data)
    return md["digest"]


GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
TAR = "application/vnd.oci.image.layer.v1.tar"
