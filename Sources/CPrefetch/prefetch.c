// CPrefetch is header-only (include/CPrefetch.h): its functions are static inline, so Swift inlines them.
// SwiftPM wants one source file per C target.
#include "CPrefetch.h"
