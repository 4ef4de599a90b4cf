"""Heap images from Python: ``save``, ``bgsave`` and ``lastsave`` against the real heapd, whose snapshot
directory the files land in (conftest's ``server.snapshot_dir``)."""

import datetime
import os
import time

import pytest

import heapd
from conftest import HeapdProcess, heapd_binary

MAGIC = b"HEAPDIMG"


def read_image(server, name):
    with open(os.path.join(server.snapshot_dir, name), "rb") as image:
        return image.read()


def wait_saved(session, seconds=30):
    deadline = time.monotonic() + seconds
    while session.info("persistence")["saving"] != 0:
        assert time.monotonic() < deadline, "the background save did not finish"
        time.sleep(0.02)


def test_lastsave_is_none_until_the_first_save():
    # A heapd of its own: the module's shares its saves between tests.
    process = HeapdProcess(heapd_binary())
    try:
        process.wait_ready()
        with heapd.connect(process.socket) as session:
            assert session.lastsave() is None
            before = datetime.datetime.now().replace(microsecond=0)
            assert session.save() is True
            after = datetime.datetime.now()
            saved = session.lastsave()
            assert isinstance(saved, datetime.datetime)
            assert before <= saved <= after
            # No name: heapd's default file.
            with open(os.path.join(process.snapshot_dir, "heap.image"), "rb") as image:
                assert image.read(8) == MAGIC
    finally:
        process.stop()


def test_save_writes_the_named_image_with_the_globals(server, session):
    session.new("g.images_list", "str", "kept in the image")
    assert session.save("named.image") is True
    image = read_image(server, "named.image")
    assert image[:8] == MAGIC
    # The global's name (namespace section) and its str (objects section) are in the image.
    assert b"images_list" in image
    assert b"kept in the image" in image
    persistence = session.info("persistence")
    assert persistence["last_save_status"] == "ok"
    assert persistence["last_save_path"].endswith("/named.image")
    session.delete("g.images_list")


def test_bgsave_returns_before_the_file_lands_and_lastsave_follows(server, session):
    session.new("g.images_big", "str", "x" * 100_000)
    first = session.lastsave()
    assert session.bgsave("background.image") is True
    wait_saved(session)
    image = read_image(server, "background.image")
    assert image[:8] == MAGIC
    assert session.info("persistence")["last_save_path"].endswith("/background.image")
    assert session.lastsave() >= first
    # And without a name, the default file.
    assert session.bgsave() is True
    wait_saved(session)
    assert read_image(server, "heap.image")[:8] == MAGIC
    session.delete("g.images_big")


def test_a_name_outside_the_snapshot_directory_is_refused(server, session):
    with pytest.raises(heapd.HeapdError) as raised:
        session.save("../escape.image")
    assert raised.value.code == "SYNTAX"
    assert not os.path.exists(os.path.join(server.directory, "escape.image"))
    with pytest.raises(heapd.HeapdError):
        session.bgsave("nested/dir.image")
