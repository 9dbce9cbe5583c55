#ifndef EMPMON_CLIBPQ_SHIM_H
#define EMPMON_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
