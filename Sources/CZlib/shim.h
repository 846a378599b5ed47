#ifndef RNNSTREAM_CZLIB_SHIM_H
#define RNNSTREAM_CZLIB_SHIM_H
#include <zlib.h>
#endif
