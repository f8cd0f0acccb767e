/* pgres_fake: PGresults made by hand for the binary-column unit tests (pgres_fake.h). */
#include "pgres_fake.h"

#include <CUnit/CUnit.h>
#include <string.h>

PGresult *pgres_fake(const unsigned *types, int ncols, int rows, int text_col)
{
    PGresAttDesc att[64];
    PGresult *res;

    if (ncols > (int)(sizeof(att) / sizeof(att[0])))
        return NULL;
    res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    for (int i = 0; i < ncols; i++)
        att[i] = (PGresAttDesc){.name = (char *)"c",
                                .format = i == text_col ? 0 : 1,
                                .typid = types[i],
                                .typlen = -1,
                                .atttypmod = -1};
    if (res && !PQsetResultAttrs(res, ncols, att)) {
        PQclear(res);
        return NULL;
    }
    for (int r = 0; res && r < rows; r++)
        for (int i = 0; i < ncols; i++)
            PQsetvalue(res, r, i, NULL, -1); /* NULL unless put */
    return res;
}

void pgres_put(PGresult *res, int row, int col, const void *v, int len)
{
    CU_ASSERT_FATAL(PQsetvalue(res, row, col, (char *)v, len));
}

void pgres_put_be(PGresult *res, int row, int col, uint64_t v, int size)
{
    unsigned char b[8];
    for (int i = 0; i < size; i++)
        b[i] = (unsigned char)(v >> (8 * (size - 1 - i)));
    pgres_put(res, row, col, b, size);
}

void pgres_put_text(PGresult *res, int row, int col, const char *s)
{
    pgres_put(res, row, col, s, (int)strlen(s));
}
