/* gradc/gradc.h: the C API of libgradc (docs/api.md).

   Compile a model (from a file or a string) into a gradc_model, which owns
   the compiled code and the model's state (params, optimizer state, running
   statistics, step counter); bind input buffers; run training steps, eval
   and predict; read and write tensors by their checkpoint names; save and
   load safetensors checkpoints that `gradc train/eval/predict` read and
   write.

   Errors: every function that can fail returns a gradc_status; GRADC_OK is
   0. After a failure gradc_last_error() returns the message (for a model
   that does not compile: the complete diagnostic text, as `gradc check`
   prints it). Nothing throws, aborts or exits across this API. A model may
   be used from one thread at a time; different models are independent. */
#ifndef GRADC_GRADC_H
#define GRADC_GRADC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GRADC_DTYPE_DEFINED
#define GRADC_DTYPE_DEFINED
/* Element types (the same values as in the headers of `gradc compile`). */
enum { GRADC_F32 = 0, GRADC_F64 = 1, GRADC_I32 = 2 };
#endif

typedef enum gradc_status {
  GRADC_OK = 0,
  GRADC_INVALID_ARGUMENT = 1, /* a NULL pointer or a bad option value */
  GRADC_MODEL_ERROR = 2,      /* the model text has errors (diagnostics) */
  GRADC_NOT_FOUND = 3,        /* no input, output or tensor of that name */
  GRADC_SIZE_MISMATCH = 4,    /* a buffer of the wrong size */
  GRADC_NOT_READY = 5,        /* an input the call needs is not bound */
  GRADC_RUNTIME_ERROR = 6,    /* an id out of range in the data */
  GRADC_IO_ERROR = 7,         /* a file cannot be read or written */
  GRADC_CHECKPOINT_ERROR = 8, /* a checkpoint that does not fit the model */
  GRADC_UNSUPPORTED = 9,      /* e.g. training a model without a train block */
  GRADC_INTERNAL_ERROR = 10
} gradc_status;

/* The message of the last call that failed on this thread ("" if none).
   Valid until the next failing call on this thread. */
const char *gradc_last_error(void);
/* A short name of a status ("GRADC_SIZE_MISMATCH"); "GRADC_UNKNOWN_STATUS"
   for a value that is none. */
const char *gradc_status_name(int status);
/* "0.1.0". */
const char *gradc_version(void);

/* Compile options; a NULL options pointer means all defaults. */
typedef struct gradc_options {
  const char *backend;        /* "jit" (NULL: the default) or "interp" */
  unsigned threads;           /* worker threads; 0: all cores */
  const char *const *defines; /* num_defines "NAME=VALUE" overrides of consts */
  size_t num_defines;
} gradc_options;

typedef struct gradc_model gradc_model;

/* Compiles the model file at `path` (or the text `source`, whose
   diagnostics name `filename`, e.g. "model.nn") into *out. On failure *out
   is NULL. */
gradc_status gradc_compile_file(const char *path, const gradc_options *options,
                                gradc_model **out);
gradc_status gradc_compile_string(const char *source, const char *filename,
                                  const gradc_options *options,
                                  gradc_model **out);
/* Frees a model (NULL is fine). */
void gradc_model_free(gradc_model *model);

/* Describing a model. Pointers stay valid as long as the model. */
typedef struct gradc_tensor_info {
  const char *name;
  int32_t dtype; /* GRADC_F32, GRADC_F64 or GRADC_I32 */
  int32_t rank;
  const int64_t *shape; /* rank dims */
  uint64_t elements;
  uint64_t bytes; /* elements * the dtype's size */
} gradc_tensor_info;

const char *gradc_model_name(const gradc_model *model);
/* Examples per call: axis 0 of every input. */
int64_t gradc_batch_size(const gradc_model *model);
/* Whether the model has a train block (and so gradc_train_step). */
int gradc_can_train(const gradc_model *model);
/* Inputs, outputs (of predict) and state tensors (params, optimizer state,
   running statistics by checkpoint name), in declaration order: their number,
   and info on the i-th (GRADC_NOT_FOUND for i out of range). */
size_t gradc_num_inputs(const gradc_model *model);
gradc_status gradc_input_info(const gradc_model *model, size_t i,
                              gradc_tensor_info *out);
size_t gradc_num_outputs(const gradc_model *model);
gradc_status gradc_output_info(const gradc_model *model, size_t i,
                               gradc_tensor_info *out);
size_t gradc_num_tensors(const gradc_model *model);
gradc_status gradc_tensor_info_at(const gradc_model *model, size_t i,
                                  gradc_tensor_info *out);
/* Looks a state tensor up by name. */
gradc_status gradc_find_tensor(const gradc_model *model, const char *name,
                               gradc_tensor_info *out);
/* The metrics eval reports, in declaration order. */
size_t gradc_num_metrics(const gradc_model *model);
const char *gradc_metric_name(const gradc_model *model, size_t i);

/* Binds input `name` to a caller's buffer of exactly its size in bytes (one
   full batch, row-major, in the input's dtype). The buffer is not copied:
   it must stay valid, and is read by every later call, until it is bound
   again. */
gradc_status gradc_bind_input(gradc_model *model, const char *name,
                              const void *data, size_t bytes);

/* Sets every state tensor from its initializer for `seed` (the values of
   `gradc train --seed`) and the step counter to 0. A new model is
   initialized with seed 0. */
gradc_status gradc_init(gradc_model *model, uint64_t seed);

/* One training step on the bound inputs; *loss (may be NULL) gets its loss
   before the update. lr is the base learning rate (<= 0: the model's own);
   the model's schedule applies to it at the step counter, as in
   `gradc train --lr`. On an error the state is unchanged. */
gradc_status gradc_train_step(gradc_model *model, double lr, double *loss);
/* The loss (NaN without a train block) and the metrics of the bound batch in
   inference form; num_metrics must be gradc_num_metrics (metrics may be NULL
   when it is 0). */
gradc_status gradc_eval(gradc_model *model, double *loss, double *metrics,
                        size_t num_metrics);
/* Runs predict on the bound inputs; gradc_read_output then copies each
   output (bytes must be its size). */
gradc_status gradc_predict(gradc_model *model);
gradc_status gradc_read_output(const gradc_model *model, const char *name,
                               void *data, size_t bytes);

/* Copies state tensor `name` out of or into the model (bytes must be its
   size; row-major, in its dtype). */
gradc_status gradc_read_tensor(const gradc_model *model, const char *name,
                               void *data, size_t bytes);
gradc_status gradc_write_tensor(gradc_model *model, const char *name,
                                const void *data, size_t bytes);

/* The number of completed training steps. */
int64_t gradc_step(const gradc_model *model);
gradc_status gradc_set_step(gradc_model *model, int64_t step);

/* Saves the whole state as a safetensors checkpoint (atomically), as
   `gradc train --save` does. */
gradc_status gradc_save(const gradc_model *model, const char *path);
/* Loads a checkpoint as `gradc eval --load` does: every param and running
   statistic must be in the file with the model's dtype and shape (optimizer
   state and the step are loaded when present); tensors the model does not
   have are ignored. Nothing changes unless the whole file fits. */
gradc_status gradc_load(gradc_model *model, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* GRADC_GRADC_H */
