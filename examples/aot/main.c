/* examples/aot/main.c: train XOR in plain C with the ahead-of-time compiled
   model examples/xor.nn, then print its predictions.

     gradc compile examples/xor.nn -o xor.o --header xor.h
     cc -I. examples/aot/main.c xor.o -lm -o xor_aot
     ./xor_aot [STEPS [SEED]]      (default: 2000 steps, seed 0)

   It prints the loss of every step ("step T loss L", T from 1), then the
   four predictions. Neither LLVM nor any gradc library is needed. */
#include "xor.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 2000;
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;

  /* The truth table: one batch of XOR_BATCH = 4 examples. */
  static const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  static const float y[4][1] = {{0}, {1}, {1}, {0}};

  void *state = aligned_alloc(XOR_STATE_ALIGN, XOR_STATE_BYTES);
  if (!state)
    return 1;
  xor_init(state, seed); /* the same values as `gradc train --seed` */

  for (long t = 1; t <= steps; ++t) {
    /* lr 0: the model's own learning rate (sgd lr = 1.0). */
    float loss = xor_train_step(state, &x[0][0], &y[0][0], 0.0f);
    if (xor_last_error(state, NULL)) {
      fprintf(stderr, "error: %s\n", xor_last_error(state, NULL));
      return 1;
    }
    printf("step %ld loss %.9g\n", t, loss);
  }

  float loss, max_err;
  xor_eval(state, &x[0][0], &y[0][0], &loss, &max_err);
  printf("eval loss %.9g max_err %.9g\n", loss, max_err);

  float p[4][1];
  xor_predict(state, &x[0][0], &p[0][0]);
  for (int i = 0; i < 4; ++i)
    printf("xor(%g, %g) = %.4f\n", x[i][0], x[i][1], p[i][0]);

  float *w1 = xor_tensor(state, "W1");
  printf("W1[0][0] = %.6f after %lld steps\n", w1[0], (long long)xor_step(state));
  free(state);
  return 0;
}
