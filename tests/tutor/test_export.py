"""Exports: the Anki package opened as what it is, Markdown against a golden file, JSON
against the schema."""

import json
import sqlite3
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from tutor.cli import app

GOLDEN_BANK = Path(__file__).resolve().parents[1] / "fixtures" / "golden_bank"
GOLDEN_MD = Path(__file__).resolve().parents[1] / "golden" / "study-guide.md"
runner = CliRunner()


def export(*args):
    return runner.invoke(app, ["--bank", str(GOLDEN_BANK), "export", *args])


def notes_of(apkg: Path) -> list[tuple]:
    with zipfile.ZipFile(apkg) as z:
        names = z.namelist()
        assert "collection.anki2" in names
        data = z.read("collection.anki2")
    db = apkg.with_suffix(".anki2")
    db.write_bytes(data)
    with sqlite3.connect(db) as conn:
        return conn.execute("select guid, flds, tags from notes order by guid").fetchall()


def test_anki_export_notes_fields_and_stable_guids(tmp_path):
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    assert export("anki", "-o", str(a), "--topic", "golden").exit_code == 0
    assert export("anki", "-o", str(b), "--topic", "golden").exit_code == 0
    notes_a, notes_b = notes_of(a), notes_of(b)
    assert len(notes_a) == 4
    assert [n[0] for n in notes_a] == [n[0] for n in notes_b]  # same GUIDs: re-import updates
    fields = {n[1].split("\x1f")[0]: n[1].split("\x1f") for n in notes_a}
    assert set(fields) == {"golden/params", "golden/choice", "golden/numeric", "golden/order"}
    choice = fields["golden/choice"]
    assert choice[3] == "A" and "There are n x n of them." in choice[4]
    numeric = fields["golden/numeric"]
    d = 768 if "768" in numeric[1] else 1024
    assert numeric[2] == f"{12 * d * d:,} params"
    # the demo is named with what it shows and how to run it: no figures measured at export
    assert fields["golden/params"][5].endswith("Run: tutor demo params --preset gpt2")
    # order cards show their steps on the front, scrambled; the back has the order
    order = fields["golden/order"]
    assert all(step in order[2] for step in (r"compute \(QK^{T}\)", "softmax over keys"))
    shown = [s.split(". ", 1)[1] for s in order[2].split("<br>")]
    right = [int(x) for x in order[3].split("<br>")[0].split()]
    assert [shown[i - 1] for i in right][0] == r"compute \(QK^{T}\)"
    # two exports of an unchanged bank give notes with identical fields
    assert notes_a == notes_b


def test_anki_fields_are_escaped_and_formulas_are_mathjax():
    from tutor.export.anki import html, mathjax

    assert mathjax("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert mathjax("cost O(n^2)") == r"cost \(O(n^2)\)"
    assert mathjax("scale by 1/sqrt(d_k)") == r"scale by 1/\(\sqrt{d_k}\)"
    assert mathjax("12d^2 weights") == r"\(12d^{2}\) weights"
    assert html("a\n\nb") == "a<br><br>b"


def test_export_refuses_a_bad_output_before_any_work(tmp_path):
    r = export("markdown", "-o", str(tmp_path / "missing" / "guide.md"))
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = export("markdown", "-o", str(tmp_path))
    assert r.exit_code == 2
    r = export("markdown", "-o", str(tmp_path / "guide.txt"))
    assert r.exit_code == 2 and "should end in .md" in r.stderr
    assert not [p for p in tmp_path.rglob("*.md")] and not (tmp_path / "missing").exists()


def test_markdown_export_matches_golden(tmp_path):
    out = tmp_path / "guide.md"
    r = export("markdown", "-o", str(out), "--topic", "golden")
    assert r.exit_code == 0, r.stderr
    assert out.read_text(encoding="utf-8") == GOLDEN_MD.read_text(encoding="utf-8")


def test_json_export_is_valid_against_the_schema():
    import jsonschema

    from tutor.bank.schema import json_schema

    r = export("json", "--topic", "golden")
    data = json.loads(r.stdout)
    assert [f["topic"] for f in data["files"]] == ["golden"]
    for f in data["files"]:
        jsonschema.validate(f, json_schema())
    assert [q["id"] for q in data["files"][0]["questions"]] == [
        "golden/params", "golden/choice", "golden/numeric", "golden/order"]


def test_export_filters_and_errors(tmp_path):
    r = export("json", "--tag", "complexity", "--topic", "golden")
    assert [q["id"] for q in json.loads(r.stdout)["files"][0]["questions"]] == ["golden/choice"]
    r = export("json", "--topic", "golden", "--tag", "nothing-has-this")
    assert r.exit_code == 1 and r.stderr.strip() == (
        "error: no questions match the filters; check --topic and --tag")
    r = export("anki", "-o", str(tmp_path / "deck.zip"), "--topic", "golden")
    assert r.exit_code == 2 and "should end in .apkg" in r.stderr


def test_a_changed_topic_or_kind_is_reported_on_the_next_anki_export(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    text = (GOLDEN_BANK / "golden.yaml").read_text(encoding="utf-8")
    (bank / "golden.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "deck.apkg"
    r = runner.invoke(app, ["--bank", str(bank), "export", "anki", "-o", str(out),
                            "--topic", "golden"])
    assert r.exit_code == 0 and "note:" not in r.stderr
    changed = text.replace("id: golden/order\n    kind: order",
                           "id: golden/order\n    kind: recall")
    changed = changed.replace("    steps: [compute QK^T, scale by 1/sqrt(d_k), softmax over keys, "
                              "multiply by V]\n", "")
    (bank / "golden.yaml").write_text(changed, encoding="utf-8")
    r = runner.invoke(app, ["--bank", str(bank), "export", "anki", "-o", str(out),
                            "--topic", "golden"])
    assert r.exit_code == 0, r.stderr
    assert "1 question(s) changed kind (golden/order)" in r.stderr
