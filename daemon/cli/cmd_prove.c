/* cmd_prove.c: tallyctl prove (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_prove(int argc, char **argv)
{
	fprintf(stderr, "tallyctl prove: not available in this build\n");
	return 2;
}
