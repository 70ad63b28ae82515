"""`podtwin eval ...`: quality figures against labelled transcripts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podtwin.cli.common import print_json
from podtwin.corpus import lenny_files, split

app = typer.Typer(help="Measure quality against labelled transcripts.", no_args_is_help=True)

LabelledPaths = Annotated[
    list[Path] | None, typer.Argument(help="Labelled transcripts (default: lenny measure split).")
]
SplitPart = Annotated[str, typer.Option(help="Corpus split used when no PATH is given.")]


def _paths(paths: list[Path] | None, part: str) -> list[Path]:
    out: list[Path] = []
    if paths:
        for p in paths:
            out.extend(sorted(p.rglob("*.md")) if p.is_dir() else [p])
    else:
        out = split(lenny_files(), part)
    if not out:
        raise typer.BadParameter("no labelled transcripts found (set PODTWIN_CORPUS or give PATHs)")
    return out


def _labelled_paths(paths: list[Path]) -> dict[str, list[Path]]:
    """Labelled files by show: a folder of files is one show, a folder of folders one show
    each, a file belongs to the show of its folder."""
    from podtwin.corpus import labelled_folder

    shows: dict[str, list[Path]] = {}
    for p in paths:
        if not p.exists():
            raise typer.BadParameter(f"{p}: no such file or folder")
        if p.is_dir():
            shows.update(labelled_folder(p))
        else:
            shows.setdefault(p.parent.name, []).append(p)
    return shows


@app.command("sentences")
def eval_sentences(
    paths: LabelledPaths = None,
    part: SplitPart = "measure",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sentence-boundary F1 of the punctuator on labelled text stripped of punctuation and casing."""
    from podtwin.lab.evaluate_sentences import evaluate_sentence_boundaries

    files = _paths(paths, part)
    result = evaluate_sentence_boundaries(files)
    if as_json:
        print_json(result)
        return
    typer.echo(f"files {result['files']}  words {result['words']:,}  ({part if not paths else 'given paths'})")
    typer.echo(f"{'':22}{'precision':>10}{'recall':>10}{'F1':>10}")
    typer.echo(f"{'punctuator':22}{result['precision']:10.3f}{result['recall']:10.3f}{result['f1']:10.3f}")
    base = result["baseline"]
    typer.echo(f"{'baseline (every N)':22}{base['precision']:10.3f}{base['recall']:10.3f}{base['f1']:10.3f}")
    typer.echo(
        f"{'question marks':22}{result['question_precision']:10.3f}"
        f"{result['question_recall']:10.3f}{result['question_f1']:10.3f}"
    )
    typer.echo(f"speed {result['words_per_second']:,.0f} words/s")


@app.command("sponsors")
def eval_sponsors(
    paths: LabelledPaths = None,
    part: SplitPart = "measure",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sponsor-read tagging precision/recall/F1, with and without paragraph breaks."""
    from podtwin.lab.evaluate_sponsors import evaluate_sponsor_tagging

    files = _paths(paths, part)
    result = evaluate_sponsor_tagging(files)
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"files {result['files']}  sentences {result['sentences']:,}  sponsor sentences "
        f"{result['sponsor_sentences']:,}  ({part if not paths else 'given paths'})"
    )
    typer.echo(f"{'':46}{'precision':>10}{'recall':>10}{'F1':>10}{'word F1':>10}")
    for name, key in (("tagger", "tagger"), ("baseline 'brought to you by'", "baseline")):
        for condition, figures in result[key].items():
            typer.echo(
                f"{name + ', ' + condition:46}{figures['precision']:10.3f}{figures['recall']:10.3f}"
                f"{figures['f1']:10.3f}{figures['word_f1']:10.3f}"
            )


@app.command("speakers")
def eval_speakers(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Labelled folders or files (a folder of files is one show, a folder of folders one show each). "
            "Default: the measure split of every labelled show, then lex-labelled."
        ),
    ] = None,
    part: SplitPart = "measure",
    unpunctuated: Annotated[bool, typer.Option("--unpunctuated", help="Only the unpunctuated condition.")] = False,
    punctuated: Annotated[bool, typer.Option("--punctuated", help="Only the punctuated condition.")] = False,
    adapt: Annotated[bool, typer.Option("--adapt", help="Learn each show's host from its own episodes first.")] = False,
    weights: Annotated[Path | None, typer.Option(help="Another speaker model (.npz) to measure.")] = None,
    leave_one_out: Annotated[
        bool,
        typer.Option(
            "--leave-one-out",
            help="Measure each show with a model trained without its group (trained first if not cached).",
        ),
    ] = False,
    episodes: Annotated[bool, typer.Option("--episodes", help="Also print every episode's figures.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Speaker attribution on labelled transcripts stripped of labels (and, unpunctuated, of
    punctuation and casing): per show and episode, word accuracy under the best one-to-one
    mapping of speakers, turn-change F1, the host's true and predicted share of words, and
    the number of speakers."""
    from podtwin.corpus import labelled_shows, lex_labelled_files
    from podtwin.lab.evaluate_speakers import evaluate_shows
    from podtwin.speakers.attribution import SpeakerAttributor

    if paths:
        shows = _labelled_paths(paths)
    else:
        shows = {show: split(files, part) for show, files in labelled_shows().items()}
        if lex_labelled_files():
            shows["lex-labelled"] = lex_labelled_files()
    shows = {k: v for k, v in shows.items() if v}
    if not shows:
        raise typer.BadParameter("no labelled transcripts found (set PODTWIN_CORPUS or give PATHs)")
    conditions = (True,) if unpunctuated and not punctuated else (False,) if punctuated else (False, True)
    if leave_one_out:
        from podtwin.corpus import show_group
        from podtwin.lab.train_speaker_calibration import fold_model

        result = {}
        for group in sorted({show_group(s) for s in shows if s != "lex-labelled"}):
            part = {s: f for s, f in shows.items() if s != "lex-labelled" and show_group(s) == group}
            got = evaluate_shows(part, conditions, fold_model(group), adapt=adapt)
            for condition, res in got.items():
                merged = result.setdefault(condition, {"shows": {}, "seconds": 0.0})
                merged["shows"].update(res["shows"])
                merged["seconds"] = round(merged["seconds"] + res["seconds"], 1)
        if "lex-labelled" in shows:  # no model was ever trained on it: the shipped one
            got = evaluate_shows({"lex-labelled": shows["lex-labelled"]}, conditions, None, adapt=adapt)
            for condition, res in got.items():
                result[condition]["shows"].update(res["shows"])
    else:
        attributor = SpeakerAttributor.load(weights) if weights else None
        result = evaluate_shows(shows, conditions, attributor, adapt=adapt)
    if as_json:
        print_json(result)
        return
    head = (
        f"{'show':26}{'eps':>4}{'spk':>5}{'pred':>5}{'word acc':>9}{'all guest':>10}"
        f"{'change F1':>10}{'±3':>6}{'host true':>10}{'host pred':>10}"
    )
    for condition, res in result.items():
        typer.echo(f"\n{condition} ({'adapted per show' if adapt else 'general model'}, {res['seconds']} s)")
        typer.echo(head)
        for show, r in res["shows"].items():
            for group in ("two_speakers", "three_or_more"):
                g = r["summary"].get(group)
                if not g:
                    continue
                label = f"{show} ({'2' if group == 'two_speakers' else '3+'})"
                typer.echo(
                    f"{label[:26]:26}{g['episodes']:4d}{g['speakers_true']:5.1f}{g['speakers_predicted']:5.1f}"
                    f"{g['accuracy']:9.3f}{g['baseline_all_guest']:10.3f}{g['change_f1']:10.3f}"
                    f"{g['change_f1_pm3']:6.3f}{g['host_share_true']:10.3f}{g['host_share_predicted']:10.3f}"
                )
            if episodes:
                for e in r["episodes"]:
                    typer.echo(
                        f"  {e['file'][:24]:24}{'':4}{e['speakers_true']:5d}{e['speakers_predicted']:5d}"
                        f"{e['accuracy']:9.3f}{e['baseline_all_guest']:10.3f}{'':16}"
                        f"{e['host_share_true']:10.3f}{e['host_share_predicted']:10.3f}"
                    )
        conf = res.get("confidence")
        if conf:
            typer.echo(
                f"speaker confidence over these shows: ECE {conf['ece']:.3f}; at or above the quoting threshold "
                f"{conf['threshold']:.3f}: {conf['kept_words']:.1%} of words kept, "
                f"{conf['wrong_words_kept']:.2%} of them someone else's"
            )
            typer.echo(
                "  reliability: "
                + ", ".join(
                    f"{row['bin']}: conf {row['confidence']:.2f} acc {row['accuracy']:.2f} ({row['words']:,} w)"
                    for row in conf["table"]
                )
            )


@app.command("corrections")
def eval_corrections(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Labelled folders (default: the measure split of each show, with a model without it)."),
    ] = None,
    counts: Annotated[list[int] | None, typer.Option("--count", help="Corrections to simulate.")] = None,
    punctuated: Annotated[bool, typer.Option("--punctuated", help="Only the punctuated condition.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Corrections that spread: a creator corrects the least confident turns of each show's
    first episode; word accuracy of the show's other episodes after 0, 10 and 30 of them.
    Default: every show's measure split, attributed by the model trained without its group
    (lex-labelled by the shipped model)."""
    from podtwin.corpus import labelled_shows, lex_labelled_files, show_group
    from podtwin.lab.evaluate_speakers import _retry_punctuator, load_show, simulate_corrections
    from podtwin.lab.train_speaker_calibration import fold_model

    counts = counts or [0, 10, 30]
    if paths:
        shows = _labelled_paths(paths)
        models = {s: None for s in shows}
    else:
        shows = {s: split(f, "measure") for s, f in labelled_shows().items()}
        models = {s: fold_model(show_group(s)) for s in shows}
        if lex_labelled_files():
            shows["lex-labelled"] = lex_labelled_files()
            models["lex-labelled"] = None
    punctuator = _retry_punctuator()
    out: dict = {}
    for unp in (False,) if punctuated else (False, True):
        key = "unpunctuated" if unp else "punctuated"
        for show, files in shows.items():
            eps = load_show(show, files, unp, punctuator)
            if len(eps) < 2:
                continue
            out.setdefault(key, {})[show] = simulate_corrections(eps, models[show], tuple(counts))
            if not as_json:
                r = out[key][show]
                typer.echo(
                    f"{key:13} {show[:26]:26} other episodes: "
                    + "  ".join(f"{n}: {r[n]['other_episodes']:.3f}" for n in counts)
                    + "   corrected one: "
                    + "  ".join(f"{n}: {r[n]['corrected_episode']:.3f}" for n in counts)
                )
    if as_json:
        print_json(out)


@app.command("purity")
def eval_purity(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Labelled folders or files (default: lex-labelled, a show no model was trained on)."),
    ] = None,
    unpunctuated: Annotated[bool, typer.Option("--unpunctuated", help="Strip punctuation and casing too.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """True purity of guest twins: labelled episodes ingested unlabelled, each guest's twin
    asked the host's real questions; every quoted word checked against the labels."""
    from podtwin.corpus import lex_labelled_files
    from podtwin.lab.evaluate_purity import evaluate_purity

    shows = _labelled_paths(paths or [])
    if not paths and lex_labelled_files():
        shows["lex-labelled"] = lex_labelled_files()
    if not shows:
        raise typer.BadParameter("no labelled transcripts found (set PODTWIN_CORPUS or give PATHs)")
    result = evaluate_purity(shows, unpunctuated=unpunctuated)
    if as_json:
        print_json(result)
        return
    typer.echo(f"{'show':28}{'questions':>10}{'quoted words':>13}{'purity':>8}{'hit rate':>9}{'abstained':>10}")
    for show, r in [*result["shows"].items(), ("all", result["all"])]:
        purity = "-" if r["purity"] is None else f"{r['purity']:.4f}"
        hit = "-" if r["hit_rate"] is None else f"{r['hit_rate']:.3f}"
        abstained = "-" if r["abstained"] is None else f"{r['abstained']:.3f}"
        typer.echo(f"{show[:28]:28}{r['questions']:10d}{r['quoted_words']:13d}{purity:>8}{hit:>9}{abstained:>10}")


@app.command("pins")
def eval_pins(
    ctx: typer.Context,
    split_name: Annotated[str, typer.Option("--split", help="The pairs' split: tune or measure.")] = "measure",
    person: Annotated[str | None, typer.Option(help="The twin (default: the guest with the most words).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N pairs.", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pins end to end on a copy of the library: for each labelled question pair, pin an excerpt
    to one question and ask the other; the share of paraphrases given the pinned answer (target
    ≥ 0.9) and of non-paraphrases given it (≤ 0.05), and the same for blocks."""
    from podtwin.cli.common import library_path
    from podtwin.lab.evaluate_pins import evaluate_pins

    result = evaluate_pins(library_path(ctx), split_name, person, limit)
    if as_json:
        print_json(result)
        return
    typer.echo(f"split {result['split']}: {result['pairs']} pairs ({result['paraphrases']} paraphrases, "
               f"{result['non_paraphrases']} not), pinned for {result['person']}")  # fmt: skip
    typer.echo(
        f"paraphrases given the pinned answer:     {result['paraphrases_given_the_pinned_answer']}  (target >= 0.9)"
    )
    typer.echo(
        "non-paraphrases given the pinned answer: "
        f"{result['non_paraphrases_given_the_pinned_answer']}  (target <= 0.05)"
    )
    typer.echo(
        f"paraphrases blocked: {result['paraphrases_blocked']}; "
        f"non-paraphrases blocked: {result['non_paraphrases_blocked']}"
    )
    for a, b in result["missed"]:
        typer.echo(f"  missed: {a!r} / {b!r}")
    for a, b in result["wrongly_pinned"]:
        typer.echo(f"  wrongly pinned: {a!r} / {b!r}")
    typer.echo(f"{result['seconds_per_pair']} s a pair")


@app.command("search")
def eval_search(
    ctx: typer.Context,
    questions: Annotated[
        list[Path], typer.Argument(help="Question files (JSON Lines, see podtwin.lab.evaluate_search).")
    ],
    split_name: Annotated[
        str | None, typer.Option("--split", help="Only questions of this split (tune or measure).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Retrieval recall@1, recall@5 and MRR@10 for lexical, dense and hybrid search."""
    from podtwin.cli.common import open_library
    from podtwin.lab.evaluate_search import evaluate_search, load_questions

    with open_library(ctx) as library:
        qs = [q for path in questions for q in load_questions(path, split_name)]
        if not qs:
            raise typer.BadParameter("no questions found")
        result = evaluate_search(library, qs)
    if as_json:
        print_json(result)
        return
    typer.echo(f"questions {result['questions']}" + (f" (split {split_name})" if split_name else ""))
    if result["not_in_library"]:
        typer.echo(
            f"not in the library (skipped): {len(result['not_in_library'])}: {', '.join(result['not_in_library'])}"
        )
    typer.echo("answer = the result is in the quote's speaker turn; exact = it overlaps the quote itself")
    typer.echo(f"{'':18}{'recall@1':>10}{'recall@5':>10}{'MRR@10':>10}   {'exact: R@1':>10}{'R@5':>8}{'MRR':>8}")
    for mode, r in result["modes"].items():
        typer.echo(
            f"{mode:18}{r['recall@1']:10.3f}{r['recall@5']:10.3f}{r['mrr@10']:10.3f}   "
            f"{r['recall@1_exact']:10.3f}{r['recall@5_exact']:8.3f}{r['mrr@10_exact']:8.3f}"
        )


@app.command("twin")
def eval_twin(
    ctx: typer.Context,
    cases: Annotated[list[Path], typer.Argument(help="Case files (JSON Lines, see podtwin.twin.cases).")],
    split_name: Annotated[
        str | None, typer.Option("--split", help="Only cases of this split (tune or measure).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print each case's outcome.")] = False,
    llm: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint: also the generative twin and the pasted-passages baseline."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Twin answers: hit rate, abstention, false premises, policy declines, citation purity, groundedness."""
    from podtwin.cli.common import open_library, reported_errors
    from podtwin.corpus import corpus_dir
    from podtwin.lab.evaluate_twin import evaluate_twin
    from podtwin.twin.cases import load_cases

    with reported_errors():
        loaded = load_cases(cases, split_name)
    if not loaded:
        raise typer.BadParameter("no cases found")
    with open_library(ctx) as library:
        result = evaluate_twin(library, loaded, corpus_dir(), log=typer.echo if verbose else None, llm=llm)
    if as_json:
        print_json(result)
        return
    typer.echo(f"cases {len(loaded)}" + (f" (split {split_name})" if split_name else ""))
    for name, figures in result.items() if llm else [("extractive twin", result)]:
        typer.echo(name)
        for key, value in figures.items():
            typer.echo(f"  {key:46} {value}")


@app.command("paraphrase")
def eval_paraphrase(
    pairs: Annotated[
        Path | None,
        typer.Argument(help="Question pairs (JSON Lines, see podtwin.lab.train_paraphrase; default: the shipped set)."),
    ] = None,
    split_name: Annotated[str, typer.Option("--split", help="The split measured (tune or measure).")] = "measure",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Paraphrase matching of pins and blocks: recall of paraphrases, false matches of other questions."""
    from podtwin.lab.train_paraphrase import PAIRS, evaluate_paraphrase

    path = pairs or PAIRS
    if not path.is_file():
        raise typer.BadParameter(f"{path}: no such file")
    if split_name not in ("tune", "measure"):
        raise typer.BadParameter(f"--split is tune or measure, not {split_name!r}")
    try:
        result = evaluate_paraphrase(path, split_name)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"pairs {result['pairs']} ({result['paraphrases']} paraphrases, {result['non_paraphrases']} not; "
        f"split {split_name})   {result['microseconds_per_comparison']:.0f} µs a comparison (embeddings given)"
    )
    typer.echo(f"{'':8}{'threshold':>10}{'recall':>10}{'false matches':>15}")
    for purpose in ("pin", "block"):
        r = result[purpose]
        typer.echo(f"{purpose:8}{r['threshold']:10.3f}{r['recall']:10.3f}{r['false_match']:15.3f}")
    t = result["targets"]
    typer.echo(
        f"targets (pins): recall >= {t['recall']}, false matches <= {t['false_match']}: "
        + ("met" if result["targets_met"] else "NOT met")
        + f" (the most recall any threshold gives at that false-match rate, in hindsight: "
        f"{result['best_recall_at_target_false_match']:.3f})"
    )
    for purpose in ("pin", "block"):
        r = result[purpose]
        for title, key in (("paraphrases missed", "missed"), ("false matches", "false_matches")):
            if r[key]:
                typer.echo(f"\n{purpose}: {title} ({len(r[key])})")
                for w in r[key]:
                    typer.echo(f"  {w['score']:.3f}  {w['a']}  |  {w['b']}")


@app.command("watch-topics")
def eval_watch_topics(
    split_name: Annotated[str, typer.Option("--split", help="tune or measure.")] = "measure",
    data: Annotated[Path | None, typer.Option(help="Labelled examples (default: the ones podtwin ships).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print the false alarms and misses.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Watch topics: precision, recall and false alarms of the `watched_topic` webhook event on
    hand-labelled questions (measure split by default), with and without the word rule, against
    the off-limits policy's matcher."""
    from podtwin.cli.common import reported_errors
    from podtwin.lab.evaluate_watch_topics import DATA, evaluate_watch_topics

    with reported_errors():
        result = evaluate_watch_topics(split_name, data or DATA)
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"{result['examples']} examples, {result['topics']} topics, {result['should_fire']} should fire "
        f"(split {result['split']}); threshold {result['threshold']} (fitted on tune), "
        f"word rule {'on' if result['by_word'] else 'off'}"
    )
    typer.echo(f"{'':34}{'precision':>10}{'recall':>8}{'F1':>7}{'false alarms':>15}")
    rows = [
        ("as shipped", result["shipped"]),
        ("meaning only", result["meaning_only"]),
        ("meaning or word", result["meaning_or_word"]),
        (f"off-limits matcher ({result['off_limits_matcher']['threshold']})", result["off_limits_matcher"]),
    ]
    for name, f in rows:
        alarms = f"{f['false_alarm_rate']:.3f} ({f['false_alarms']})"
        typer.echo(f"{name:34}{f['precision']:10.3f}{f['recall']:8.3f}{f['f1']:7.3f}{alarms:>15}")
    if verbose:
        for label, key in (("false alarm", "false_alarms"), ("missed", "missed")):
            for e in result[key]:
                typer.echo(f"  {label:11} {e['cosine']:.3f} [{e['kind']}] {e['topic']}: {e['question']}")
