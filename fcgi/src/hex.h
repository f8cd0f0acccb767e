/* hex: one hexadecimal digit's value, for every decoder of outside text (a URL's %XX in
 * req.c and the Celery bridge's broker URL, JSON's \uXXXX in jsonx.c): one home for the rule. */
#ifndef RW_HEX_H
#define RW_HEX_H

/* 0..15 for 0-9, a-f, A-F; -1 for anything else. */
static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
