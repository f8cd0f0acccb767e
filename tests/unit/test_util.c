#include "suites.h"

int test_add_suite(const char *name, const struct test_case *cases)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s)
        return 1;
    for (; cases->name; cases++)
        if (!CU_add_test(s, cases->name, cases->fn))
            return 1;
    return 0;
}
