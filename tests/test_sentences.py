from podtwin.text.sentences import split_sentences


def texts(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_on_terminators_followed_by_capitals():
    assert texts("Hello there. How are you? I'm fine! Good.") == [
        "Hello there.",
        "How are you?",
        "I'm fine!",
        "Good.",
    ]


def test_keeps_abbreviations_initials_numbers_and_urls_inside():
    text = "Dr. Smith met J. R. Tolkien at 3.5 p.m. Then go to sprig.com/lenny. Done."
    assert texts(text) == ["Dr. Smith met J. R. Tolkien at 3.5 p.m. Then go to sprig.com/lenny.", "Done."]


def test_ellipsis_ends_a_sentence_only_before_a_capital():
    assert texts("God is like the universe and is... reveals himself. You said... You're right.") == [
        "God is like the universe and is... reveals himself.",
        "You said...",
        "You're right.",
    ]


def test_spans_are_trimmed_and_cover_all_words():
    text = "  one two.   Three four?  "
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["one two.", "Three four?"]
    assert " ".join(text[a:b] for a, b in spans).split() == text.split()


def test_within_a_range():
    text = "Ignore this. Yes. No. Ignore too."
    start = text.index("Yes")
    end = text.index("Ignore too")
    assert [text[a:b] for a, b in split_sentences(text, start, end)] == ["Yes.", "No."]
