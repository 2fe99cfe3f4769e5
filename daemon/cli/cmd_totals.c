/* cmd_totals.c: tallyctl totals (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_totals(int argc, char **argv)
{
	fprintf(stderr, "tallyctl totals: not available in this build\n");
	return 2;
}
