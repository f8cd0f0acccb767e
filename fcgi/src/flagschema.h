/* flagschema: the schema of experiments' flags, inferred from the values seen. Every path
 * (nested objects walked, "a.b") gets a type: boolean, integer, float (integers and floats
 * mixed), string, choice (a string with few distinct values), array (a leaf: its items
 * are values, not paths), object (an empty one), null (only nulls seen) or mixed, with the
 * distinct values seen (capped) so the dashboard offers typeahead and validates input.
 * Knows no database and no request: the handler feeds it parsed flags (unit-tested). */
#ifndef RW_FLAGSCHEMA_H
#define RW_FLAGSCHEMA_H

#include <json-c/json.h>
#include <stddef.h>

/* A string flag with at most this many distinct values is a choice. */
#define FLAGSCHEMA_CHOICE_MAX 10
/* Distinct values kept per path; past it, values_truncated. */
#define FLAGSCHEMA_VALUES_MAX 50
/* Paths kept; more are dropped (and counted in paths_dropped): flags are a template's
 * knobs, not data, so thousands of paths means something is off. */
#define FLAGSCHEMA_PATHS_MAX 2000

struct flagschema_path;

struct flagschema {
    struct flagschema_path *paths;
    size_t n, cap;
    size_t docs;          /* flag objects added */
    size_t paths_dropped; /* paths past FLAGSCHEMA_PATHS_MAX */
};

void flagschema_init(struct flagschema *s);
void flagschema_fini(struct flagschema *s);
/* Walks one experiment's flags (a JSON object; anything else counts as a document without
 * paths). Returns 0, or -1 when memory ran out. */
int flagschema_add(struct flagschema *s, json_object *flags);
/* {"documents": n, "paths": [{"path": "a.b", "keys": ["a", "b"], "type", "count",
 * "nullable", "values": [...], "values_truncated", "min", "max"}], "paths_dropped": n},
 * paths sorted by name; min/max only for numbers. A new tree the caller owns, or NULL. */
json_object *flagschema_json(const struct flagschema *s);

#endif
