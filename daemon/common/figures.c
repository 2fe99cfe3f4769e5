/*
 * figures.c: the display helpers of figures.h: shares in percent for
 * documents (never for a decision) and whole numbers grouped by thousands
 * for texts people read. Pure.
 */
#include <inttypes.h>
#include <stdio.h>

#include "tally/figures.h"

double tally_figures_turnout_pct(const struct tally_figures *f)
{
	if (f->voters_registered == 0)
		return 0.0;
	return 100.0 * (double)f->ballots_cast / (double)f->voters_registered;
}

double tally_figures_option_pct(const struct tally_figures *f, size_t i)
{
	if (f->ballots_cast <= f->ballots_invalid)
		return 0.0;
	return 100.0 * (double)f->votes[i] / (double)(f->ballots_cast - f->ballots_invalid);
}

const char *tally_figures_group(uint64_t v, char ret[TALLY_GROUPED_MAX])
{
	char digits[21];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			ret[o++] = ',';
		ret[o++] = digits[i];
	}
	ret[o] = '\0';
	return ret;
}
