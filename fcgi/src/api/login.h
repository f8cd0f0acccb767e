/* login: signing in and out, and what the signed-in identity may see. */
#ifndef RW_API_LOGIN_H
#define RW_API_LOGIN_H

#include "req.h"

int login_signin(struct req *r);
int login_signout(struct req *r);
int login_me(struct req *r);
int login_check(struct req *r);
int login_password(struct req *r);

#endif
