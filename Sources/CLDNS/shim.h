// libldns's common.h defines `bool` as `signed char` unless stdbool is already in effect,
// which would import every bool API as Int8. stdbool must come first.
#include <stdbool.h>
#include <stdio.h>
#include <ldns/ldns.h>
