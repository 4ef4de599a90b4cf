// The parts of libsystemd heapd calls: sd_notify and friends, socket activation, the native journal.
// Variadic functions (sd_journal_send, sd_notifyf) are not callable from Swift; heapd uses
// sd_journal_sendv and sd_notify with preformatted strings instead.
#ifndef HEAPD_CSYSTEMD_SHIM_H
#define HEAPD_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
