/*
 * Tests for the node's intake (daemon/node/intake.c): a good file becomes
 * signed outbox entries whose payload is the file's rows and whose
 * signature verifies; the same file again is recognized and not queued
 * twice; a file with any bad row queues nothing and lists every bad row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "node/intake.h"
#include "tally/codec.h"

static const char definition[] =
    "{\"election_id\": \"kz-2026\", \"title\": \"Referendum\","
    " \"options\": [{\"id\": \"yes\", \"name\": \"Yes\"}, {\"id\": \"no\", \"name\": \"No\"}],"
    " \"regions\": ["
    "  {\"id\": \"KZ-71\", \"name\": \"Astana\", \"precincts\": ["
    "    {\"id\": 17, \"registered\": 1500}, {\"id\": 18, \"registered\": 900}]},"
    "  {\"id\": \"KZ-10\", \"name\": \"Abai\", \"precincts\": [{\"id\": 30, \"registered\": 10}]}"
    "]}";

/* Three contests; precinct 1 does not vote in the district race otk-07. */
static const char general_definition[] =
    "{\"election_id\": \"kz-2027\", \"title\": \"General election\","
    " \"regions\": [{\"id\": \"KZ-71\", \"name\": \"Astana\","
    "               \"precincts\": [[1, 1500], [2, 900], [3, 700]]},"
    "              {\"id\": \"KZ-11\", \"name\": \"Akmola\", \"precincts\": [[101, 800]]}],"
    " \"districts\": [{\"id\": \"OTK-07\", \"precincts\": [2, 3, 101]}],"
    " \"contests\": ["
    "  {\"id\": \"party-list\", \"kind\": \"party_list\", \"seats\": 69,"
    "   \"options\": [{\"id\": \"amanat\"}, {\"id\": \"ak-zhol\"},"
    "               {\"id\": \"against-all\", \"against_all\": true}],"
    "   \"rules\": {\"method\": \"hare\"}},"
    "  {\"id\": \"otk-07\", \"kind\": \"candidate\", \"scope\": {\"district\": \"OTK-07\"},"
    "   \"options\": [{\"id\": \"c-1\"}, {\"id\": \"c-2\"},"
    "               {\"id\": \"against-all\", \"against_all\": true}]},"
    "  {\"id\": \"referendum\", \"kind\": \"referendum\","
    "   \"options\": [{\"id\": \"yes\"}, {\"id\": \"no\"}]}]}";

static char tmp[64];
static struct tally_election *election, *general;
static struct tally_signing_key key;
static struct outbox *ob;
static struct intake in, gin;

static void setup(void)
{
	struct tally_err err = {{0}};
	char tmpl[] = "/tmp/tally-intake-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(tmp, sizeof(tmp), "%s", tmpl);
	cr_assert_eq(tally_sign_init(), 0);
	cr_assert_eq(tally_election_parse(definition, strlen(definition), &election, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(
	    tally_election_parse(general_definition, strlen(general_definition), &general, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(tally_sign_generate(&key), 0);
	cr_assert_eq(outbox_open(tmp, &ob, &err), 0, "%s", err.msg);
	in = (struct intake){election, "KZ-71", &key, ob};
	gin = (struct intake){general, "KZ-71", &key, ob};
}

static void teardown(void)
{
	char cmd[128];

	ob = outbox_close(ob);
	election = tally_election_free(election);
	general = tally_election_free(general);
	tally_sign_key_wipe(&key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(intake, .init = setup, .fini = teardown);

static const char good_csv[] =
    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no\n"
    "17,1,1500,1400,1200,200,1180,12,3,900,265\n"
    "18,1,900,800,700,100,690,0,0,400,290\n";

static struct outbox_stats stats(void)
{
	struct outbox_stats st;

	cr_assert_eq(outbox_stats(ob, &st), 0);
	return st;
}

static int take(const char *name, const char *text, struct intake_report *r)
{
	return intake_take(&in, name, (const uint8_t *)text, strlen(text), r);
}

Test(intake, good_file_becomes_signed_entries)
{
	struct intake_report r;
	struct outbox_item it[4];
	size_t n = 0;

	cr_assert_eq(take("north.csv", good_csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	cr_assert_eq(r.n_entries, 2);
	cr_assert_eq(r.entries[0].precinct_id, 17);
	cr_assert_eq(r.entries[0].line, 2);
	cr_assert_eq(r.entries[0].state, OUTBOX_QUEUED);
	cr_assert_eq(r.entries[1].precinct_id, 18);
	cr_assert_str_eq(r.entries[1].source, "north.csv");
	intake_report_clear(&r);

	cr_assert_eq(outbox_fetch(ob, 0, 4, it, &n), 0);
	cr_assert_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		struct tally_signed_result s;
		struct tally_result p;

		cr_assert_eq(tally_codec_decode_signed(it[i].signed_bytes, it[i].signed_len, &s),
		             0);
		cr_assert_str_eq(s.key_id, key.pub.key_id);
		cr_assert_eq(s.signature_len, TALLY_SIG_BYTES);
		cr_assert_eq(tally_sign_verify(&key.pub, s.payload, s.payload_len, s.signature,
		                               s.signature_len),
		             0);
		cr_assert_eq(tally_codec_decode_result(s.payload, s.payload_len, &p), 0);
		cr_assert_str_eq(p.election_id, "kz-2026");
		cr_assert_str_eq(p.region_id, "KZ-71");
		cr_assert_eq(p.precinct_id, i == 0 ? 17 : 18);
		cr_assert_eq(p.ballots_cast, i == 0 ? 1180 : 690);
		cr_assert_eq(p.votes[0].count, i == 0 ? 900 : 400);
		tally_signed_result_clear(&s);
		outbox_item_clear(&it[i]);
	}
	cr_assert_eq(stats().files, 1);
}

Test(intake, the_same_file_again_is_not_queued_twice)
{
	struct intake_report r;

	cr_assert_eq(take("north.csv", good_csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	cr_assert_eq(outbox_mark_delivered(ob, 1, TALLY_OUTCOME_ACCEPTED, NULL), 0);

	/* Same bytes under another name: recognized by content. */
	cr_assert_eq(take("north-copy.csv", good_csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_ALREADY);
	cr_assert_eq(r.n_entries, 2);
	cr_assert_eq(r.entries[0].state, OUTBOX_DELIVERED);
	cr_assert_eq(r.entries[0].outcome, TALLY_OUTCOME_ACCEPTED);
	cr_assert_eq(r.entries[1].state, OUTBOX_QUEUED);
	intake_report_clear(&r);
	cr_assert_eq(stats().queued, 1);
	cr_assert_eq(stats().delivered, 1);
	cr_assert_eq(stats().files, 1);
}

Test(intake, one_bad_row_rejects_the_whole_file)
{
	struct intake_report r;
	const char *bad = "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	                  "ballots_cancelled,ballots_cast,ballots_invalid,yes,no\n"
	                  "17,1,1500,1200,1100,90,1100,0,900,200\n"
	                  "18,1,900,800,700,100,690,0,400,290\n"
	                  "30,1,10,10,10,0,10,0,5,5\n"
	                  "99,1,10,10,10,0,10,0,5,5\n"
	                  "18,0,900,800,700,100,790,0,400,290\n";

	cr_assert_eq(take("bad.csv", bad, &r), 0);
	cr_assert_eq(r.fate, INTAKE_REJECTED);
	cr_assert_eq(r.n_entries, 0);
	cr_assert_str_eq(
	    r.error_text,
	    "line 2: precinct 17: received = issued + cancelled: ballots_received (1200) != "
	    "ballots_issued (1100) + ballots_cancelled (90) = 1190\n"
	    "line 4: precinct 30: region: precinct 30 belongs to region \"KZ-10\", not \"KZ-71\"\n"
	    "line 5: precinct 99: precinct: precinct_id 99 is not a precinct of election "
	    "\"kz-2026\"\n"
	    "line 6: precinct 18: precinct_id: precinct 18 appears again (first at line 3)\n"
	    "line 6: precinct 18: revision: revision is 0; the first count is revision 1\n");
	intake_report_clear(&r);
	cr_assert_eq(stats().queued, 0);
	cr_assert_eq(stats().files, 0);
}

Test(intake, json_and_csv_of_the_same_protocol_sign_the_same_bytes)
{
	const char *json =
	    "{\"votes\": {\"no\": 290, \"yes\": 400}, \"precinct_id\": 18,"
	    " \"revision\": 1, \"voters_registered\": 900, \"ballots_received\": 800,"
	    " \"ballots_issued\": 700, \"ballots_cancelled\": 100,"
	    " \"ballots_cast\": 690, \"ballots_invalid\": 0}";
	const char *csv = "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	                  "ballots_cancelled,ballots_cast,ballots_invalid,no,yes\n"
	                  "18,1,900,800,700,100,690,0,290,400\n";
	struct tally_signed_result a, b;
	struct intake_report r;
	struct outbox_item it[2];
	size_t n = 0;

	cr_assert_eq(take("18.json", json, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	cr_assert_eq(take("18.csv", csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);

	cr_assert_eq(outbox_fetch(ob, 0, 2, it, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(tally_codec_decode_signed(it[0].signed_bytes, it[0].signed_len, &a), 0);
	cr_assert_eq(tally_codec_decode_signed(it[1].signed_bytes, it[1].signed_len, &b), 0);
	/* So the aggregator sees a duplicate, never a conflict, for a re-sent protocol. */
	cr_assert_eq(a.payload_len, b.payload_len);
	cr_assert_eq(memcmp(a.payload, b.payload, a.payload_len), 0);
	tally_signed_result_clear(&a);
	tally_signed_result_clear(&b);
	outbox_item_clear(&it[0]);
	outbox_item_clear(&it[1]);
}

Test(intake, names_other_than_json_or_csv_are_refused)
{
	struct intake_report r;

	cr_assert_eq(take("north.txt", good_csv, &r), -EINVAL);
	cr_assert_eq(stats().queued, 0);
}

Test(intake, a_failed_commit_queues_nothing)
{
	struct intake_report r;

	/* A transaction held open elsewhere makes BEGIN fail: nothing half-done. */
	cr_assert_eq(outbox_begin(ob), 0);
	cr_assert_lt(take("north.csv", good_csv, &r), 0);
	outbox_rollback(ob);
	cr_assert_eq(stats().queued, 0);
	cr_assert_eq(stats().files, 0);
	/* And the file is taken on the next try. */
	cr_assert_eq(take("north.csv", good_csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
}

/* The payload of the queued entry i (of n fetched), decoded; its signature checked. */
static void fetch_payloads(size_t want, struct tally_signed_result *signed_, struct tally_result *p)
{
	struct outbox_item it[8];
	size_t n = 0;

	cr_assert_leq(want, 8);
	cr_assert_eq(outbox_fetch(ob, 0, 8, it, &n), 0);
	cr_assert_eq(n, want);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(
		    tally_codec_decode_signed(it[i].signed_bytes, it[i].signed_len, &signed_[i]),
		    0);
		cr_assert_eq(tally_sign_verify(&key.pub, signed_[i].payload, signed_[i].payload_len,
		                               signed_[i].signature, signed_[i].signature_len),
		             0);
		cr_assert_eq(
		    tally_codec_decode_result(signed_[i].payload, signed_[i].payload_len, &p[i]),
		    0);
		outbox_item_clear(&it[i]);
	}
}

/*
 * The three protocols of precinct 2: the party list, the district race and
 * the referendum, each on its own ballot paper with its own ballot lines.
 */
static const char general_json[] =
    "[{\"precinct_id\": 2, \"contest_id\": \"party-list\", \"revision\": 1,"
    "  \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 700,"
    "  \"ballots_cancelled\": 100, \"ballots_cast\": 690, \"ballots_invalid\": 10,"
    "  \"votes\": {\"against-all\": 80, \"ak-zhol\": 200, \"amanat\": 400}},\n"
    " {\"precinct_id\": 2, \"contest_id\": \"otk-07\", \"revision\": 1,"
    "  \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 650,"
    "  \"ballots_cancelled\": 150, \"ballots_cast\": 640, \"ballots_invalid\": 20,"
    "  \"votes\": {\"c-2\": 250, \"against-all\": 70, \"c-1\": 300}},\n"
    " {\"precinct_id\": 2, \"contest_id\": \"referendum\", \"revision\": 1,"
    "  \"voters_registered\": 900, \"ballots_received\": 800, \"ballots_issued\": 700,"
    "  \"ballots_cancelled\": 100, \"ballots_cast\": 695, \"ballots_invalid\": 5,"
    "  \"votes\": {\"no\": 190, \"yes\": 500}}]\n";

static const char general_csv[] =
    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
    "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,yes,no,c-2,c-1,against-all,"
    "amanat,ak-zhol\n"
    "2,1,900,800,700,100,690,10,party-list,,,,,80,400,200\n"
    "2,1,900,800,650,150,640,20,otk-07,,,250,300,70,,\n"
    "2,1,900,800,700,100,695,5,referendum,500,190,,,,,\n";

Test(intake, protocols_of_several_contests_become_one_entry_each)
{
	static const char *const contests[] = {"party-list", "otk-07", "referendum"};
	static const uint32_t cast[] = {690, 640, 695};
	struct tally_signed_result s[3];
	struct tally_result p[3];
	struct intake_report r;

	cr_assert_eq(
	    intake_take(&gin, "p2.json", (const uint8_t *)general_json, strlen(general_json), &r),
	    0);
	cr_assert_eq(r.fate, INTAKE_QUEUED, "%s", r.error_text ? r.error_text : "");
	cr_assert_eq(r.n_entries, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r.entries[i].precinct_id, 2);
		cr_assert_eq(r.entries[i].line, i + 1);
		cr_assert_str_eq(r.contests[i], contests[i]);
	}
	intake_report_clear(&r);

	fetch_payloads(3, s, p);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(p[i].election_id, "kz-2027");
		cr_assert_str_eq(p[i].contest_id, contests[i]);
		cr_assert_eq(p[i].precinct_id, 2);
		cr_assert_eq(p[i].ballots_cast, cast[i]);
		tally_signed_result_clear(&s[i]);
	}
	/* Ballot order of each contest, whatever the file's order. */
	cr_assert_str_eq(p[1].votes[0].option_id, "c-1");
	cr_assert_eq(p[1].votes[0].count, 300);
	cr_assert_str_eq(p[1].votes[2].option_id, "against-all");
	cr_assert_eq(stats().queued, 3);
}

Test(intake, the_same_general_file_again_names_the_contests)
{
	struct intake_report r;

	cr_assert_eq(
	    intake_take(&gin, "p2.csv", (const uint8_t *)general_csv, strlen(general_csv), &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	cr_assert_eq(intake_take(&gin, "p2-again.csv", (const uint8_t *)general_csv,
	                         strlen(general_csv), &r),
	             0);
	cr_assert_eq(r.fate, INTAKE_ALREADY);
	cr_assert_eq(r.n_entries, 3);
	cr_assert_str_eq(r.contests[0], "party-list");
	cr_assert_str_eq(r.contests[1], "otk-07");
	cr_assert_str_eq(r.contests[2], "referendum");
	cr_assert_eq(r.entries[2].line, 4);
	intake_report_clear(&r);
	cr_assert_eq(stats().queued, 3);
	cr_assert_eq(stats().files, 1);
}

Test(intake, json_and_csv_of_several_contests_sign_the_same_bytes)
{
	struct tally_signed_result s[6];
	struct tally_result p[6];
	struct intake_report r;

	cr_assert_eq(
	    intake_take(&gin, "p2.json", (const uint8_t *)general_json, strlen(general_json), &r),
	    0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);
	cr_assert_eq(
	    intake_take(&gin, "p2.csv", (const uint8_t *)general_csv, strlen(general_csv), &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);

	fetch_payloads(6, s, p);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(s[i].payload_len, s[i + 3].payload_len, "contest %s", p[i].contest_id);
		cr_assert_eq(memcmp(s[i].payload, s[i + 3].payload, s[i].payload_len), 0,
		             "contest %s", p[i].contest_id);
	}
	for (size_t i = 0; i < 6; i++)
		tally_signed_result_clear(&s[i]);
}

Test(intake, each_protocol_is_checked_against_its_contest)
{
	struct intake_report r;
	const char *bad =
	    "precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
	    "ballots_cancelled,ballots_cast,ballots_invalid,contest_id,c-1,c-2,against-all,"
	    "amanat,ak-zhol,yes,no\n"
	    "1,1,1500,1400,1200,200,1180,0,otk-07,600,500,80,,,,\n"
	    "101,1,800,700,600,100,590,0,otk-07,300,200,90,,,,\n"
	    "2,1,900,800,700,100,690,0,party-list,,,90,400,201,,\n"
	    "2,1,900,800,700,100,695,5,referendum,,,,,,500,190\n";

	cr_assert_eq(intake_take(&gin, "bad.csv", (const uint8_t *)bad, strlen(bad), &r), 0);
	cr_assert_eq(r.fate, INTAKE_REJECTED);
	cr_assert_str_eq(
	    r.error_text,
	    "line 2: precinct 1 contest otk-07: precinct in contest: precinct 1 does not vote in "
	    "contest \"otk-07\"\n"
	    "line 3: precinct 101 contest otk-07: region: precinct 101 belongs to region "
	    "\"KZ-11\", not \"KZ-71\"\n"
	    "line 4: precinct 2 contest party-list: cast = invalid + not_counted + sum(votes): "
	    "ballots_cast (690) != ballots_invalid (0) + ballots_not_counted (0) + votes (691) = "
	    "691\n");
	intake_report_clear(&r);
	cr_assert_eq(stats().queued, 0);
	cr_assert_eq(stats().files, 0);
}

/*
 * A file of an election of one contest, without contest_id, signs exactly
 * the bytes it signed before contests existed: these, written by an
 * independent encoder (python3-protobuf from proto/tally.proto), have no
 * field 14.
 */
static const char legacy_payload_hex[] =
    "0a076b7a2d3230323612054b5a2d37311811200128dc0b30f80a38b00940c801489c09500c5803620"
    "80a0379657310840762070a026e6f108902";

Test(intake, one_contest_files_sign_the_bytes_of_before)
{
	const char *json = "{\"votes\": {\"no\": 265, \"yes\": 900}, \"precinct_id\": 17,"
	                   " \"revision\": 1, \"voters_registered\": 1500,"
	                   " \"ballots_received\": 1400, \"ballots_issued\": 1200,"
	                   " \"ballots_cancelled\": 200, \"ballots_cast\": 1180,"
	                   " \"ballots_invalid\": 12, \"ballots_not_counted\": 3}";
	struct tally_signed_result s[3];
	struct tally_result p[3];
	struct intake_report r;
	uint8_t want[sizeof(legacy_payload_hex) / 2];

	for (size_t i = 0; i < sizeof(want); i++)
		cr_assert_eq(sscanf(legacy_payload_hex + 2 * i, "%2hhx", &want[i]), 1);
	cr_assert_eq(take("17.json", json, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	cr_assert_str_eq(r.contests[0], "");
	intake_report_clear(&r);
	cr_assert_eq(take("north.csv", good_csv, &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED);
	intake_report_clear(&r);

	/* The JSON protocol, then the CSV's two rows: precinct 17 in both files. */
	fetch_payloads(3, s, p);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(s[i].payload_len, sizeof(want), "entry %zu", i);
		cr_assert_eq(memcmp(s[i].payload, want, sizeof(want)), 0, "entry %zu", i);
	}
	for (size_t i = 0; i < 3; i++)
		tally_signed_result_clear(&s[i]);
}

/* A source file's text (caller frees). */
static char *slurp(const char *rel)
{
	char path[1024], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TALLY_SOURCE_DIR, rel);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* The body of the first ``` block at or after `from`, cut in place; *ret_next after it. */
static char *code_block(char *from, char **ret_next)
{
	char *start = strstr(from, "```"), *end;

	cr_assert_not_null(start);
	start = strchr(start, '\n') + 1;
	end = strstr(start, "```");
	cr_assert_not_null(end);
	*end = '\0';
	*ret_next = end + 3;
	return start;
}

/* README's protocol files of a general election, for docs/elections.md's complete example. */
Test(intake, the_readme_examples_of_a_general_election_are_taken)
{
	char *docs = slurp("docs/elections.md"), *readme = slurp("README.md"), *next;
	char *definition_text, *json, *csv, *at;
	struct tally_err err = {{0}};
	struct tally_election *e = NULL;
	struct intake din;
	struct intake_report r;

	at = strstr(docs, "## A complete example");
	cr_assert_not_null(at);
	definition_text = code_block(at, &next);
	cr_assert_eq(tally_election_parse(definition_text, strlen(definition_text), &e, &err), 0,
	             "%s", err.msg);
	din = (struct intake){e, "KZ-71", &key, ob};
	at = strstr(readme, "**General elections.**");
	cr_assert_not_null(at);
	json = code_block(at, &next);
	csv = code_block(next, &next);

	cr_assert_eq(intake_take(&din, "p2.json", (const uint8_t *)json, strlen(json), &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED, "%s", r.error_text ? r.error_text : "");
	cr_assert_eq(r.n_entries, 2);
	cr_assert_eq(r.entries[0].line, 2);
	cr_assert_str_eq(r.contests[0], "party-list");
	cr_assert_eq(r.entries[1].line, 5);
	cr_assert_str_eq(r.contests[1], "otk-07");
	intake_report_clear(&r);

	cr_assert_eq(intake_take(&din, "p2.csv", (const uint8_t *)csv, strlen(csv), &r), 0);
	cr_assert_eq(r.fate, INTAKE_QUEUED, "%s", r.error_text ? r.error_text : "");
	cr_assert_eq(r.n_entries, 3);
	cr_assert_str_eq(r.contests[0], "party-list");
	cr_assert_str_eq(r.contests[1], "otk-07");
	cr_assert_str_eq(r.contests[2], "referendum");
	cr_assert_eq(r.entries[2].precinct_id, 2);
	intake_report_clear(&r);

	tally_election_free(e);
	free(docs);
	free(readme);
}
