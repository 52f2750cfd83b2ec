/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * servicectl's command table and argument parser. Each command is declared
 * once: its words, the API op it sends, typed positional arguments and
 * options (validated locally with addr.h before anything is sent), help text
 * and how its result is shown as a table. Exact names only: no abbreviations.
 * The table is cli/commands.c, the parser cli/parse.c, the help cli/help.c;
 * they form libcli.a, so the unit tests drive the same parser as servicectl.
 */
#ifndef SVC_CTL_H
#define SVC_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

/* Exit codes of servicectl. */
#define SVC_CTL_EXIT_OK 0
#define SVC_CTL_EXIT_FAIL 1  /* the agent refused the request or could not be reached */
#define SVC_CTL_EXIT_USAGE 2 /* bad command line: nothing was sent */

/* Value types of arguments and options; each maps to one JSON form in the request. */
enum svc_ctl_type {
	SVC_CTL_SID,	  /* serviceID -> canonical string */
	SVC_CTL_PREFIX,	  /* SID/LEN -> canonical string */
	SVC_CTL_BINDING,  /* VIP:PORT/PROTO -> canonical string */
	SVC_CTL_ADDR,	  /* IPv4/IPv6 address -> canonical string */
	SVC_CTL_HOP,	  /* ADDR[:W] or [V6]:W -> {"addr","weight"} appended to an array */
	SVC_CTL_WEIGHT,	  /* 1..SVC_MAX_WEIGHT -> integer */
	SVC_CTL_COUNT,	  /* 1..100000 -> integer */
	SVC_CTL_NAME,	  /* svc_name_valid() -> string */
	SVC_CTL_IFACE,	  /* interface name -> string */
	SVC_CTL_STATE,	  /* up|down -> string */
	SVC_CTL_PROG,	  /* router|endpoint -> string */
	SVC_CTL_MODE,	  /* native|skb -> string */
	SVC_CTL_ACTION,	  /* forward|demux|delay|drop -> string */
	SVC_CTL_FLAG,	  /* option without value -> true */
	SVC_CTL_PORT,	  /* 1..65535 -> integer */
	SVC_CTL_PATH,	  /* HTTP path: '/' then printable ASCII, no spaces -> string */
	SVC_CTL_FILE,	  /* a file name, "-" = standard input -> string */
	SVC_CTL_CGROUP,	  /* cgroup v2 directory: svc_cgroup_path_valid() -> string */
	SVC_CTL_SELECT,	  /* TI-flow selection ADDR | :PORT | ADDR:PORT | [V6]:PORT -> canonical
			     string */
	SVC_CTL_INSTID,	  /* instance id 0..65535 -> integer */
	SVC_CTL_OPTKIND,  /* TCP option kind 2..255 -> integer */
	SVC_CTL_KEYWORD,  /* the literal word in metavar ("from"); stores nothing (key NULL) */
	SVC_CTL_ENDPOINT, /* ADDR:PORT or [V6]:PORT, PORT 1..65535 -> canonical string */
};

/* Commands whose op starts with this run in servicectl itself, without the agent. */
#define SVC_CTL_LOCAL_OP "local."

#define SVC_CTL_OPTIONAL (1u << 0) /* positional may be omitted */
#define SVC_CTL_REPEAT (1u << 1)   /* positional takes every remaining word (0 or more) */

/* A positional argument. */
struct svc_ctl_arg {
	const char *metavar; /* "SID" */
	const char *key;     /* request args key */
	enum svc_ctl_type type;
	unsigned int flags; /* SVC_CTL_OPTIONAL, SVC_CTL_REPEAT */
};

/* An option of a command. */
struct svc_ctl_opt {
	const char *long_name; /* "weight" for --weight */
	char short_name;       /* 0 if none */
	const char *metavar;   /* NULL for flags */
	const char *key;       /* request args key */
	enum svc_ctl_type type;
	const char *help;
};

/* How a result value is shown in a table cell. */
enum svc_ctl_fmt {
	SVC_CTL_FMT_PLAIN = 0, /* string, number, bool (yes/no), null "-" */
	SVC_CTL_FMT_HOPS,      /* array of {"addr","weight"} as "ADDR:W ..." */
};

struct svc_ctl_col {
	const char *key;    /* field of the result object */
	const char *header; /* column header / label */
	enum svc_ctl_fmt fmt;
};

/*
 * One block of table output: @path names an object ("agent") or an array
 * ("services", "service.instances") in the result; an object prints as
 * "label: value" lines, an array as a table with a header row.
 */
struct svc_ctl_view {
	const char *title; /* printed above the block, NULL for none */
	const char *path;
	const struct svc_ctl_col *cols;
};

struct svc_ctl_cmd {
	const char *group;   /* first word: "service" */
	const char *name;    /* second word: "add"; NULL for one-word commands ("status");
				"select add" for a command of three words */
	const char *op;	     /* API op */
	const char *usage;   /* arguments synopsis after the words */
	const char *summary; /* one line */
	const struct svc_ctl_arg *args; /* NULL-metavar terminated, may be NULL */
	const struct svc_ctl_opt *opts; /* NULL-long_name terminated, may be NULL */
	/* Cross-argument check on the built args; returns 0 or -1 with @err set. */
	int (*check)(json_object *args, char *err, size_t errlen);
	const struct svc_ctl_view *views; /* NULL-path terminated; NULL = print nothing */
	const char *example;
};

/* What the command line asks for. */
struct svc_ctl_inv {
	bool json;		       /* -j/--json */
	const char *socket;	       /* -s/--socket, NULL = default */
	bool help;		       /* print help (for cmd, or group, or everything) */
	bool version;		       /* --version: print the version */
	const char *group;	       /* group word when help is for a group */
	const struct svc_ctl_cmd *cmd; /* the command (NULL for top-level/group help) */
	json_object *request;	       /* the request to send (owned), NULL with help */
};

/* svc_ctl_commands - the command table, terminated by an entry with a NULL group. */
extern const struct svc_ctl_cmd svc_ctl_commands[];

/*
 * svc_ctl_parse - parse servicectl's argv. Returns SVC_CTL_EXIT_OK with @inv
 * filled, or SVC_CTL_EXIT_USAGE with @err naming the bad word and why.
 * Free with svc_ctl_inv_free.
 */
int svc_ctl_parse(int argc, char **argv, struct svc_ctl_inv *inv, char *err, size_t errlen);
void svc_ctl_inv_free(struct svc_ctl_inv *inv);

/* svc_ctl_help - print the help @inv asks for (everything, a group, or a command). */
void svc_ctl_help(FILE *f, const struct svc_ctl_inv *inv);

/* svc_ctl_cmd_words - "service add" / "status" into @buf. */
const char *svc_ctl_cmd_words(const struct svc_ctl_cmd *cmd, char *buf, size_t len);

#endif /* SVC_CTL_H */
