#!/usr/bin/python3
"""`tallyctl totals` and `tallyctl watch` against the contests API of a
general election: tests/web/mock_server.py serving the documents of
tests/web/fixtures.py (the Mazhilis party list, six districts, a president,
a referendum and Astana's maslikhat). The summary of every contest, each
kind's table with --contest (seats provisional then final, elected, runoff,
a tie left to lot, the denominator of the shares named), names in Kazakh,
Russian or English by --lang or the locale, --json, a contest the election
lacks, watch following a contest and the summary as the count moves, and
an aggregator of one referendum (no /v1/election) printing today's table.
Exact lines throughout."""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "web"))
import fixtures  # noqa: E402
import mock_server  # noqa: E402

SOURCE = mock_server.SOURCE
BUILD = os.environ.get("TALLY_BUILD_DIR") or os.path.join(SOURCE, "build", "test")
TALLYCTL = os.path.join(BUILD, "daemon", "cli", "tallyctl")

fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
    return cond


def tallyctl(*args, env=None, timeout=30):
    e = dict(os.environ)
    for k in ("LC_ALL", "LC_MESSAGES", "LANG"):
        e.pop(k, None)
    e.update(env or {})
    r = subprocess.run([TALLYCTL] + list(args), capture_output=True, text=True, timeout=timeout,
                       env=e)
    return r.returncode, r.stdout, r.stderr


def lines_of(what, rc, out, err, want_rc=0):
    if not check(rc == want_rc, "%s: exit %d, want %d\n%s%s" % (what, rc, want_rc, out, err)):
        return []
    return out.split("\n")


def expect_lines(what, got, want):
    """Every line of want appears in got, in that order, each exactly."""
    pos = 0
    for w in want:
        try:
            pos = got.index(w, pos) + 1
        except ValueError:
            check(False, "%s: no line %r (after line %d) in:\n%s" % (what, w, pos,
                                                                   "\n".join(got)))
            return


def group(n):
    return "{:,}".format(n)


def option_rows(contest, doc, lang, seats):
    """The option table of a contest document, as totals_table.c lays it out."""
    opts = contest["options"]
    names = [o.get("names", {}).get(lang) or o["name"] for o in opts]
    w = max([6] + [len(n) for n in names])
    nat = doc["national"]
    header = "% of cast" if nat["pct_of"] == "ballots_cast" else "% of valid"
    rows = ["  " + "Option".ljust(w) + "  %15s  %10s" % ("Votes", header) +
            ("  %5s" % "Seats" if seats else "")]
    for o, name in zip(opts, names):
        row = "  " + name.ljust(w) + "  %15s  %10s" % (
            group(nat["votes"][o["id"]]), "%.2f%%" % nat["votes_pct"][o["id"]])
        if seats:
            row += "  %5s" % ("-" if o["against_all"] else group(doc["decision"]["seats"][o["id"]]))
        rows.append(row)
    return rows


def figure_rows(nat):
    share = 100.0 * nat["precincts_reported"] / nat["precincts_total"]
    return ["  %-20s %s of %s (%.2f%%)" % ("Precincts reported", group(nat["precincts_reported"]),
                                         group(nat["precincts_total"]), share),
            "  %-20s %.2f%% (%s cast of %s registered)" % (
                "Turnout", nat["turnout_pct"], group(nat["ballots_cast"]),
                group(nat["voters_registered"])),
            "  %-20s %s" % ("Invalid ballots", group(nat["ballots_invalid"])),
            "  %-20s %s" % ("Not counted", group(nat["ballots_not_counted"])),
            "  %-20s %s" % ("Conflicts", group(nat["conflicts"]))]


def head(title, state):
    return [title, "Election %s, as of %s, sequence %s" % (fixtures.ELECTION_ID, state.as_of(),
                                                          group(state.sequence)), ""]


SUMMARY_COUNTING_EN = [
    "  Contest                  Kind            Reported  Status        Leader or seats",
    "  Mazhilis: party lists    party list  8,110/10,817  provisional   AMANAT 40, Auyl 8, "
    "Respublica 6, Aq Jol 6, QHP 5, JSDP 4",
    "  District 1 (Astana)      candidate        205/205  elected       elected: Dauren Serikov",
    "  District 2 (Astana)      candidate        131/205  undetermined  leading: Zhanar Mukanova",
    "  District 5 (Almaty)      candidate         92/141  undetermined  leading: Nurlan Akhmetov",
    "  District 12 (Karaganda)  candidate        158/190  undetermined  leading: Kairat Omarov",
    "  District 20 (Turkistan)  candidate        197/317  undetermined  leading: Maksat Sultanov",
    "  District 27 (Shymkent)   candidate         97/161  undetermined  leading: Yerbolat "
    "Abdrakhmanov",
    "  President                candidate   8,110/10,817  undetermined  leading: Yerlan Abenov",
    "  Astana city maslikhat    party list       291/410  provisional   AMANAT 5, Auyl 2, "
    "Respublica 2, Aq Jol 1",
    "  Republican referendum    referendum  8,110/10,817  undetermined  leading: Yes",
    "",
]

SUMMARY_FINAL_RU = [
    "  Contest                              Kind             Reported  Status        Leader or "
    "seats",
    "  Мажилис: партийные списки            party list  10,817/10,817  final         AMANAT 40, "
    "«Ауыл» 8, Respublica 6, «Ак жол» 6, НПК 5, ОСДП 4",
    "  Избирательный округ №1 (Астана)      candidate         205/205  elected       elected: "
    "Даурен Сериков",
    "  Избирательный округ №2 (Астана)      candidate         205/205  tie           tie: "
    "Жанар Муканова, Виктор Ким",
    "  Избирательный округ №5 (Алматы)      candidate         141/141  elected       elected: "
    "Нурлан Ахметов",
    "  Избирательный округ №12 (Караганда)  candidate         190/190  elected       elected: "
    "Кайрат Омаров",
    "  Избирательный округ №20 (Туркестан)  candidate         317/317  elected       elected: "
    "Максат Султанов",
    "  Избирательный округ №27 (Шымкент)    candidate         161/161  failed        nobody "
    "elected",
    "  Президент                            candidate   10,817/10,817  runoff        runoff: "
    "Ерлан Абенов, Асель Садыкова",
    "  Маслихат города Астаны               party list        410/410  tie           AMANAT 5, "
    "«Ауыл» 1, Respublica 2, «Ак жол» 1",
    "  Республиканский референдум           referendum  10,817/10,817  passing       leading: Да",
    "",
]


def test_summary_and_languages(srv):
    url = srv.url.rstrip("/")
    st = srv.mock.state
    rc, out, err = tallyctl("totals", "--url", url)
    got = lines_of("totals (summary)", rc, out, err)
    check(got == head(fixtures.TITLES["en"], st) + SUMMARY_COUNTING_EN,
          "totals (summary) printed:\n%s" % out)
    # The locale picks the language; LC_ALL over LC_MESSAGES over LANG; --lang over them.
    for env, args, lang in [({"LANG": "kk_KZ.UTF-8"}, [], "kk"),
                            ({"LC_MESSAGES": "ru_RU.UTF-8", "LANG": "kk_KZ.UTF-8"}, [], "ru"),
                            ({"LC_ALL": "C.UTF-8", "LANG": "kk_KZ.UTF-8"}, [], "en"),
                            ({"LANG": "ru_RU.UTF-8"}, ["--lang", "kk"], "kk"),
                            ({"LANG": "kk_KZ.UTF-8"}, ["--lang", "en"], "en")]:
        rc, out, err = tallyctl("totals", "--url", url, *args, env=env)
        got = lines_of("totals %s %s" % (env, args), rc, out, err)
        check(got[:1] == [fixtures.TITLES[lang]],
              "totals with %s %s: title %r, want the %s one" % (env, args, got[:1], lang))
    rc, out, err = tallyctl("totals", "--url", url, "--lang", "kk")
    got = lines_of("totals --lang kk", rc, out, err)
    expect_lines("totals --lang kk", got, [
        "  Мәжіліс: партиялық тізімдер  party list  8,110/10,817  provisional   AMANAT 40, "
        "«Ауыл» 8, Respublica 6, «Ақ жол» 6, ҚХП 5, ЖСДП 4",
        "  Президент                    candidate   8,110/10,817  undetermined  leading: "
        "Ерлан Әбенов",
        "  Республикалық референдум     referendum  8,110/10,817  undetermined  leading: Иә"])
    rc, out, err = tallyctl("totals", "--url", url, "--lang", "de")
    check(rc == 2 and "--lang 'de': names come in kk, ru or en" in err,
          "totals --lang de: exit %d, %r" % (rc, err))
    rc, out, err = tallyctl("totals", "--url", url, "--json")
    check(rc == 0 and json.loads(out) == json.loads(json.dumps(st.totals_doc())),
          "totals --json is not the /v1/totals document: %s" % out[:300])


def test_contest_tables(srv):
    url = srv.url.rstrip("/")
    el = srv.mock.election
    st = srv.mock.state
    maz = el.contest("mazhilis")
    doc = st.contest_doc("mazhilis")
    rc, out, err = tallyctl("totals", "--url", url, "--contest", "mazhilis", "--lang", "kk")
    got = lines_of("totals --contest mazhilis --lang kk", rc, out, err)
    want = head(fixtures.TITLES["kk"], st) + [
        "Мәжіліс: партиялық тізімдер (party list, national, 69 seats)", ""]
    want += option_rows(maz, doc, "kk", True) + [""] + figure_rows(doc["national"]) + [
        "  Decision             provisional (the seats if counting stopped now)",
        "  Passed threshold     AMANAT, «Ауыл», Respublica, «Ақ жол», ҚХП, ЖСДП",
        "    - synthetic fixture", ""]
    check(got[:len(want)] == want, "totals --contest mazhilis --lang kk printed:\n%s\nwant:\n%s"
          % ("\n".join(got[:len(want)]), "\n".join(want)))
    # The regions' table: names in Kazakh, a column per option, Ulytau not yet in.
    expect_lines("totals --contest mazhilis --lang kk", got, [
        "  Region                      Id                Reported   Turnout    AMANAT    «Ауыл» "
        "Respublic  «Ақ жол»       ҚХП      ЖСДП  «Байтақ» Бәріне қа Conflicts",
        "  Ұлытау облысы               KZ-62                0/166     0.00%     0.00%     0.00%"
        "     0.00%     0.00%     0.00%     0.00%     0.00%     0.00%         0"])
    check("  District                     Id                Reported   Turnout    AMANAT    "
          "«Ауыл» Respublic  «Ақ жол»       ҚХП      ЖСДП  «Байтақ» Бәріне қа Conflicts" in got,
          "totals --contest mazhilis: no districts' table:\n%s" % out)

    rc, out, err = tallyctl("totals", "--url", url, "--contest", "smd-otk-01", "--lang", "ru")
    got = lines_of("totals --contest smd-otk-01", rc, out, err)
    doc = st.contest_doc("smd-otk-01")
    expect_lines("totals --contest smd-otk-01 --lang ru", got, [
        "Избирательный округ №1 (Астана) (candidate, district Избирательный округ №1 (Астана), "
        "1 seat)", ""] + option_rows(el.contest("smd-otk-01"), doc, "ru", False) + [""] +
        figure_rows(doc["national"]) + [
        "  Decision             elected",
        "  Elected              Даурен Сериков",
        "    - synthetic fixture", "",
        "  Region        Id                Reported   Turnout Даурен Се Ольга Ива Арман Тле "
        "Против вс Conflicts"])
    check(got[5] == "  Option                    Votes   % of cast",
          "a candidate's shares are of the ballots cast: %r" % got[5:6])

    rc, out, err = tallyctl("totals", "--url", url, "--contest", "referendum")
    got = lines_of("totals --contest referendum", rc, out, err)
    expect_lines("totals --contest referendum", got, [
        "Republican referendum (referendum, national)", "",
        "  Option            Votes   % of cast",
        "  Decision             not yet determined"])

    rc, out, err = tallyctl("totals", "--url", url, "--contest", "maslikhat-astana")
    got = lines_of("totals --contest maslikhat-astana", rc, out, err)
    expect_lines("totals --contest maslikhat-astana", got, [
        "Astana city maslikhat (party list, region Astana, 10 seats)", "",
        "  Option                 Votes  % of valid  Seats",
        "  Auyl                  21,329      13.66%      2"])

    rc, out, err = tallyctl("totals", "--url", url, "--contest", "mazhilis", "--json")
    check(rc == 0 and json.loads(out) == json.loads(json.dumps(st.contest_doc("mazhilis"))),
          "totals --contest mazhilis --json is not /v1/contests/mazhilis: %s" % out[:300])
    rc, out, err = tallyctl("totals", "--url", url, "--contest", "senate")
    check(rc == 2 and err == "tallyctl totals: election 'kz-general-2023-03-19' has no contest "
          "'senate'; its contests: mazhilis, smd-otk-01, smd-otk-02, smd-otk-05, smd-otk-12, "
          "smd-otk-20, smd-otk-27, president, maslikhat-astana, referendum\n",
          "totals --contest senate: exit %d, %r" % (rc, err))


def test_final_state(srv):
    url = srv.url.rstrip("/")
    srv.set_state("final")
    st = srv.mock.state
    try:
        rc, out, err = tallyctl("totals", "--url", url, "--lang", "ru")
        got = lines_of("totals --lang ru (final)", rc, out, err)
        check(got == head(fixtures.TITLES["ru"], st) + SUMMARY_FINAL_RU,
              "totals --lang ru (final) printed:\n%s" % out)
        rc, out, err = tallyctl("totals", "--url", url, "--contest", "mazhilis")
        got = lines_of("totals --contest mazhilis (final)", rc, out, err)
        expect_lines("totals --contest mazhilis (final)", got, [
            "  AMANAT             3,431,510      53.90%     40",
            "  Auyl                 693,938      10.90%      8",
            "  Baytaq               146,431       2.30%      0",
            "  Against all          248,291       3.90%      -", "",
            "  Precincts reported   10,817 of 10,817 (100.00%)",
            "  Decision             final"])
        rc, out, err = tallyctl("totals", "--url", url, "--contest", "president")
        got = lines_of("totals --contest president (final)", rc, out, err)
        expect_lines("totals --contest president (final)", got, [
            "President (candidate, national, 1 seat)", "",
            "  Option                         Votes   % of cast",
            "  Yerlan Abenov              2,901,220      45.20%",
            "  Decision             runoff",
            "  Runoff               Yerlan Abenov, Assel Sadykova"])
        rc, out, err = tallyctl("totals", "--url", url, "--contest", "smd-otk-02")
        got = lines_of("totals --contest smd-otk-02 (final)", rc, out, err)
        expect_lines("totals --contest smd-otk-02 (final)", got, [
            "  Decision             tie",
            "  Left to lot          1 seat among Zhanar Mukanova, Viktor Kim"])
        rc, out, err = tallyctl("totals", "--url", url, "--contest", "maslikhat-astana")
        got = lines_of("totals --contest maslikhat-astana (final)", rc, out, err)
        expect_lines("totals --contest maslikhat-astana (final)", got, [
            "  Auyl                  30,000      13.64%      1",
            "  Decision             tie",
            "  Passed threshold     AMANAT, Auyl, Respublica, Aq Jol, QHP",
            "  Left to lot          1 seat among Auyl, Aq Jol"])
    finally:
        srv.set_state("counting")


def watch(url, args, on_first, what):
    """Runs tallyctl watch --count 2, calls on_first() once the first table is drawn,
    returns the two tables' lines."""
    e = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    p = subprocess.Popen([TALLYCTL, "watch", "--url", url, "--count", "2"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    first = []
    deadline = time.time() + 30
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        first.append(line.rstrip("\n"))
        if line == "----\n":
            break
    on_first()
    try:
        rest, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    check(p.returncode == 0, "%s: exit %s\n%s" % (what, p.returncode, err))
    return first, rest.split("\n")


def test_watch(srv):
    url = srv.url.rstrip("/")
    first, second = watch(url, ["--contest", "president", "--lang", "kk"],
                          lambda: srv.set_state("final"), "watch --contest president")
    try:
        expect_lines("watch --contest president, first table", first, [
            fixtures.TITLES["kk"],
            "Election kz-general-2023-03-19, as of 2023-03-19T19:40:01.234Z, sequence 8,342",
            "Президент (candidate, national, 1 seat)",
            "  Decision             not yet determined", "----"])
        check(any(l.startswith("Watching %s: event 8342 received " % url) for l in first),
              "watch: no 'Watching' line after the first table:\n%s" % "\n".join(first))
        expect_lines("watch --contest president, second table", second, [
            fixtures.TITLES["kk"],
            "Election kz-general-2023-03-19, as of 2023-03-19T22:40:01.234Z, sequence 11,063",
            "Президент (candidate, national, 1 seat)",
            "  Ерлан Әбенов              2,901,220      45.20%",
            "  Decision             runoff",
            "  Runoff               Ерлан Әбенов, Әсел Садықова", "----"])
        check(any(l.startswith("Watching %s: event 11063 received " % url) for l in second),
              "watch: the second table is not event 11063:\n%s" % "\n".join(second))
    finally:
        srv.set_state("counting")
    # The summary, its seats from the events themselves.
    first, second = watch(url, [], lambda: srv.set_state("final"), "watch (summary)")
    try:
        want = [fixtures.TITLES["en"], "Election kz-general-2023-03-19, as of "
                "2023-03-19T19:40:01.234Z, sequence 8,342", ""] + SUMMARY_COUNTING_EN
        check(first[:len(want)] == want, "watch (summary), first table:\n%s" % "\n".join(first))
        expect_lines("watch (summary), second table", second, [
            "  Mazhilis: party lists    party list  10,817/10,817  final         AMANAT 40, "
            "Auyl 8, Respublica 6, Aq Jol 6, QHP 5, JSDP 4",
            "  President                candidate   10,817/10,817  runoff        runoff: "
            "Yerlan Abenov, Assel Sadykova"])
    finally:
        srv.set_state("counting")
    rc, out, err = tallyctl("watch", "--url", url, "--contest", "senate", "--count", "1")
    check(rc == 2 and "has no contest 'senate'" in err, "watch --contest senate: %d %r" %
          (rc, err))


def test_legacy(srv):
    url = srv.url.rstrip("/")
    legacy = srv.mock.legacy
    nat = legacy["national"]
    rc, out, err = tallyctl("totals", "--url", url, "--lang", "kk")
    got = lines_of("totals (one referendum)", rc, out, err)
    want = ["Election %s, as of %s, sequence 10" % (legacy["election_id"], legacy["as_of"]), "",
            "  Option            Votes  % of valid",
            "  yes             %7s      %.2f%%" % (group(nat["votes"]["yes"]),
                                                  nat["votes_pct"]["yes"]),
            "  no               %6s      %.2f%%" % (group(nat["votes"]["no"]),
                                                   nat["votes_pct"]["no"]), ""] + \
        figure_rows(nat) + ["  Decision             not yet determined"]
    check(got[:len(want)] == want, "totals (one referendum) printed:\n%s\nwant:\n%s" %
          (out, "\n".join(want)))
    check(got[len(want) + 2:len(want) + 4] == [
        "  Region         Id                Reported   Turnout       yes        no Conflicts",
        "  Abai Region    KZ-10                30/40    63.96%    81.69%    18.07%         0"],
        "totals (one referendum): regions %r" % got[len(want) + 2:len(want) + 4])
    rc2, out2, _ = tallyctl("totals", "--url", url, "--contest", "referendum")
    check(rc2 == 0 and out2 == out, "totals --contest referendum of one referendum differs")
    rc, out, err = tallyctl("totals", "--url", url, "--contest", "president")
    check(rc == 2 and err == "tallyctl totals: %s counts one referendum (no /v1/election); it "
          "has no contest 'president'\n" % url, "totals --contest president: %d %r" % (rc, err))
    rc, out, err = tallyctl("watch", "--url", url, "--count", "1")
    got = lines_of("watch (one referendum)", rc, out, err)
    check(got[:1] == [legacy["title"]] and "  Decision             not yet determined" in got,
          "watch (one referendum) printed:\n%s" % out)


def main():
    if not os.access(TALLYCTL, os.X_OK):
        print("FAIL: no %s (build first)" % TALLYCTL)
        return 1
    srv = mock_server.Server("general", "counting", heartbeat=1.0)
    try:
        test_summary_and_languages(srv)
        test_contest_tables(srv)
        test_final_state(srv)
        test_watch(srv)
    finally:
        srv.close()
    srv = mock_server.Server("legacy", "counting", heartbeat=1.0)
    try:
        test_legacy(srv)
    finally:
        srv.close()
    for f in fails:
        print("FAIL: " + f)
    if fails:
        return 1
    print("PASS: tallyctl totals and watch over the contests API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
