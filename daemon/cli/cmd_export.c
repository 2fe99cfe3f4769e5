/* cmd_export.c: tallyctl export (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_export(int argc, char **argv)
{
	fprintf(stderr, "tallyctl export: not available in this build\n");
	return 2;
}
