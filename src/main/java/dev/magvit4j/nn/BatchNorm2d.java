package dev.magvit4j.nn;

import dev.magvit4j.ops.Normalization;
import dev.magvit4j.tensor.DType;
import dev.magvit4j.tensor.Tensor;

/**
 * BatchNorm2d with PyTorch's state: weight, bias, running_mean, running_var and
 * num_batches_tracked (int64). Training normalises with batch statistics and updates the
 * running ones; eval uses the running ones.
 */
public final class BatchNorm2d extends Module implements Layer {

    public final float eps, momentum;
    public final Tensor weight, bias, runningMean, runningVar, numBatchesTracked;

    public BatchNorm2d(int channels) {
        this(channels, 1e-5f, 0.1f);
    }

    public BatchNorm2d(int channels, float eps, float momentum) {
        this.eps = eps;
        this.momentum = momentum;
        this.weight = parameter("weight", Tensor.ones(channels));
        this.bias = parameter("bias", Tensor.zeros(channels));
        this.runningMean = buffer("running_mean", Tensor.zeros(channels));
        this.runningVar = buffer("running_var", Tensor.ones(channels));
        this.numBatchesTracked = buffer("num_batches_tracked", Tensor.zeros(DType.INT64));
    }

    @Override
    public Tensor forward(Tensor x) {
        if (isTraining()) {
            numBatchesTracked.backend().fill(numBatchesTracked, numBatchesTracked.toLongArray()[0] + 1);
        }
        return Normalization.batchNorm2d(x, runningMean, runningVar, weight, bias, isTraining(), momentum, eps);
    }
}
