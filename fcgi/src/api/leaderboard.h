/* leaderboard: GET /api/v1/leaderboard, a project's runs ranked by a summary metric. */
#ifndef RW_API_LEADERBOARD_H
#define RW_API_LEADERBOARD_H

#include "req.h"

int leaderboard_list(struct req *r);

#endif
