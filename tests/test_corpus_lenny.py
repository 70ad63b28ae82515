"""All 253 labelled lenny transcripts ingest with their front matter and speaker labels."""

import json
from collections import Counter

import pytest
import yaml

from podtwin.formats import read_transcript
from podtwin.ingest import ingest
from podtwin.speakers.names import normalize_label
from podtwin.speakers.people import resolve_name
from podtwin.store.library import Library


@pytest.fixture(scope="module")
def lenny_library(tmp_path_factory, corpus):
    path = tmp_path_factory.mktemp("lenny") / "lenny.db"
    with Library(path) as library:
        report = ingest(library, [corpus / "lenny"])
    assert report.ok, report.failed
    assert (len(report.added), len(report.merged)) == (249, 4)
    return path


def front_matter(path):
    return yaml.safe_load(path.read_text().split("---", 2)[1])


def test_every_file_has_guest_title_and_date_from_front_matter(lenny_library, corpus):
    with Library(lenny_library) as library:
        rows = library.db.execute(
            "SELECT s.path, e.title, e.guests, e.date FROM episodes e JOIN sources s ON s.episode_id = e.id"
        ).fetchall()
    assert len(rows) == 253
    for path, title, guests, date in rows:
        fm = front_matter(corpus / "lenny" / path.rsplit("/", 1)[1])
        text = (corpus / "lenny" / path.rsplit("/", 1)[1]).read_text()
        heading = next(line[2:] for line in text.splitlines() if line.startswith("# "))
        assert title == (" ".join(fm["title"].split()) if "title" in fm else heading)
        # a merged episode names the guest once ("Ethan Evans 2.0" and "Ethan Evans" are one person)
        assert resolve_name(fm["guest"].split(" & ")[0], json.loads(guests))
        if "publish_date" in fm:
            assert date == str(fm["publish_date"])


def test_duplicate_transcripts_are_one_episode_and_clips_are_not(lenny_library):
    with Library(lenny_library) as library:
        rows = library.db.execute(
            "SELECT episode_id, group_concat(path, ' ') FROM sources GROUP BY episode_id HAVING count(*) > 1"
        ).fetchall()
        episodes = library.db.execute("SELECT count(*) FROM episodes").fetchone()[0]
    merged = sorted(sorted(p.rsplit("/", 1)[1] for p in paths.split()) for _, paths in rows)
    # the corpus holds four episodes twice, under two file names each
    assert merged == [
        ["andy-raskin.md", "andy-raskin_.md"],
        ["dr-fei-fei-li.md", "fei-fei.md"],
        ["ethan-evans-20.md", "ethan-evans.md"],
        ["wes-kao-20.md", "wes-kao.md"],
    ]
    assert episodes == 249


def test_speakers_come_from_the_labels(lenny_library, corpus):
    with Library(lenny_library) as library:
        path = str((corpus / "lenny" / "annie-duke.md").resolve())
        episode_id = library.db.execute("SELECT episode_id FROM sources WHERE path = ?", [path]).fetchone()[0]
        sentences = list(library.sentences(episode_id))
    assert all(s["speaker"] for s in sentences)
    labels = Counter(
        normalize_label(line.rsplit("(", 1)[0])
        for line in (corpus / "lenny" / "annie-duke.md").read_text().splitlines()
        if line.endswith("):") and not line.startswith("(")
    )
    assert {s["speaker"] for s in sentences} == set(labels)
    first = sentences[0]
    assert (first["speaker"], first["start_s"]) == ("Annie Duke", 0)
    assert all(s["end_s"] >= s["start_s"] for s in sentences if s["end_s"] is not None)


def test_every_labelled_speaker_keeps_their_words(lenny_library, corpus):
    """No labelled person is renamed into another: each label is a speaker of its episode,
    under its own name or, for the host's short label ("Lenny"), the host's full name."""
    with Library(lenny_library) as library:
        rows = library.db.execute(
            """SELECT s.path, e.host, (SELECT group_concat(DISTINCT speaker) FROM sentences t
                                       WHERE t.episode_id = e.id AND t.source_id = s.id)
               FROM sources s JOIN episodes e ON e.id = s.episode_id"""
        ).fetchall()
    wrong = []
    for path, host, speakers in rows:
        if not speakers:  # a second transcript of an episode whose sentences come from the first
            continue
        transcript = read_transcript(corpus / "lenny" / path.rsplit("/", 1)[1])
        labels = {normalize_label(u.speaker) for u in transcript.utterances if u.speaker}
        spoken = set(speakers.split(","))

        def same(label, speaker):
            # the same person: the host's full name, or a spelling the registry resolves
            return speaker == label or (speaker == host and host.startswith(label)) or resolve_name(label, [speaker])  # noqa: B023

        lost = [label for label in labels if not any(same(label, sp) for sp in spoken)]
        invented = [sp for sp in spoken if not any(same(label, sp) for label in labels)]
        if lost or invented:
            wrong.append((path.rsplit("/", 1)[1], lost, invented))
    assert not wrong, wrong


def test_show_and_host_learned_across_episodes(lenny_library):
    with Library(lenny_library) as library:
        episodes = library.episodes()
    # one file (a 2021 teaser) names no show in its front matter
    assert {e["show"] for e in episodes} == {"Lenny's Podcast", None}
    assert sum(e["show"] is None for e in episodes) == 1
    hosts = Counter(e["host"] for e in episodes)
    assert hosts.most_common(1)[0] == ("Lenny Rachitsky", hosts["Lenny Rachitsky"])
    assert hosts["Lenny Rachitsky"] >= 240


def test_sponsor_reads_are_tagged_and_kept(lenny_library):
    with Library(lenny_library) as library:
        kinds = Counter(
            r[0] for r in library.db.execute("SELECT kind FROM sentences WHERE text LIKE '%brought to you by%'")
        )
        total = library.db.execute("SELECT count(*) FROM sentences WHERE kind = 'sponsor'").fetchone()[0]
    assert kinds["sponsor"] / sum(kinds.values()) > 0.9
    assert total > 1000
