/* pgres_fake: PGresults made by hand, as a statement with `-- format: binary` answers them,
 * for the unit tests of the modules that read binary columns (runjson.c, spanjson.c). */
#ifndef RW_TESTS_PGRES_FAKE_H
#define RW_TESTS_PGRES_FAKE_H

#include <libpq-fe.h>
#include <stdint.h>

/* rows x ncols, column i of type types[i] in binary, except text_col (-1: none) in text;
 * every value NULL until put. NULL when libpq cannot make it. */
PGresult *pgres_fake(const unsigned *types, int ncols, int rows, int text_col);
/* Value v (len bytes) at (row, col); a failure fails the test. */
void pgres_put(PGresult *res, int row, int col, const void *v, int len);
/* An integer of size bytes in network order, as binary int2/int4/int8 are sent. */
void pgres_put_be(PGresult *res, int row, int col, uint64_t v, int size);
void pgres_put_text(PGresult *res, int row, int col, const char *s);

#endif
