/* The CRI Signal enum and POSIX signal numbers, both ways. The enum's tags
 * are not signal numbers and its names may change upstream: the mapping is
 * by tag value, kept in one table. */
#pragma once

/* The POSIX number of a CRI Signal tag; 0 for RUNTIME_DEFAULT or a tag
 * this table does not know. */
int server_signal_from_cri(int tag);
/* The CRI Signal tag of a POSIX number; 0 (RUNTIME_DEFAULT) for a number
 * the enum cannot name. Aliases (SIGIOT, SIGCLD, SIGPOLL) are never given:
 * the canonical name's tag is. */
int server_signal_to_cri(int signo);
