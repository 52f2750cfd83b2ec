/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svcplaned API ops, for the op table of handlers.c, and the result and
 * argument helpers they share (handlers_json.c). Only handlers*.c include it.
 * Each op: (agent, request args, result object to fill, error) -> 0 or -1.
 */
#ifndef SVC_AGENT_HANDLERS_H
#define SVC_AGENT_HANDLERS_H

#include <stdbool.h>
#include <json-c/json.h>
#include "agent.h"

/* handlers_json.c */
void op_put_str(json_object *o, const char *k, const char *v);
void op_put_int(json_object *o, const char *k, int64_t v);
void op_put_bool(json_object *o, const char *k, bool v);
void op_put_counter(json_object *o, const struct svc_counter *c);
const char *op_sid_str(const struct svc_sid *s, char *b);
const char *op_addr_str(const struct svc_addr *x, char *b);
bool op_sid_eq(const struct svc_sid *x, const struct svc_sid *y);
struct svc_counter op_rule_counter(struct agent *a, __u32 rule_id);
json_object *op_service_json(struct agent *a, const struct svc_reg_service *s);
json_object *op_instance_json(struct agent *a, const struct svc_reg_instance *in, bool counters,
			      const __u32 *active);
json_object *op_binding_json(struct agent *a, const struct svc_reg_binding *bd);
json_object *op_rule_json(struct agent *a, const struct svc_reg_rule *ru);
json_object *op_service_rule_json(struct agent *a, const struct svc_reg_service *s);
int op_arg_name(json_object *args, const char *key, const char **out, struct svc_err *err);
int op_arg_iface(json_object *args, const char **out, struct svc_err *err);

/* handlers_service.c */
int agent_op_service_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_service_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_service_list(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_service_show(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_service_health(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err);
int agent_op_bind_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_bind_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_bind_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_instance_add(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_instance_set(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_instance_del(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_instance_shed(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err);
int agent_op_instance_drain(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err);
int agent_op_instance_resume(struct agent *a, json_object *args, json_object *res,
			     struct svc_err *err);
int agent_op_instance_list(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err);
int agent_op_instance_show(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err);

/* handlers_rules.c */
int agent_op_rule_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_rule_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_rule_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_prefix_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_prefix_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_prefix_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_src_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_src_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_decap_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_decap_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_decap_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* handlers_attach.c */
json_object *op_attachment_json(const char *iface, int prog, int mode, __u32 prog_id);
int agent_op_attach(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_detach(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* handlers_flows.c */
int agent_op_flows_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_flows_clear(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* handlers_status.c */
int agent_op_stats(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_status(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

#endif /* SVC_AGENT_HANDLERS_H */
