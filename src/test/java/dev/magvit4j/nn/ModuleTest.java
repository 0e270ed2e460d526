package dev.magvit4j.nn;

import dev.magvit4j.tensor.Generator;
import dev.magvit4j.tensor.Tensor;
import dev.magvit4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {

    /** A miniature of the tokenizer's module tree: down.0.block.1.conv2.weight and friends. */
    static final class Block extends Module {
        final GroupNorm norm1 = child("norm1", new GroupNorm(2, 4, 1e-6f, true));
        final Conv2d conv1 = child("conv1", new Conv2d(4, 4, 3, 1, 1, false));
        final BatchNorm2d bn = child("bn", new BatchNorm2d(4));
    }

    static final class Level extends Module {
        final ModuleList<Block> block = child("block", new ModuleList<>());

        Level() {
            block.add(new Block());
            block.add(new Block());
        }
    }

    static final class Net extends Module {
        final ModuleList<Level> down = child("down", new ModuleList<>());
        final Linear head = child("head", new Linear(4, 2, true));

        Net() {
            down.add(new Level());
        }
    }

    @Test
    void namesAreDottedPaths() {
        Net net = new Net();
        List<String> names = List.copyOf(net.namedParameters().keySet());
        assertEquals(List.of(
                "down.0.block.0.norm1.weight", "down.0.block.0.norm1.bias", "down.0.block.0.conv1.weight",
                "down.0.block.0.bn.weight", "down.0.block.0.bn.bias",
                "down.0.block.1.norm1.weight", "down.0.block.1.norm1.bias", "down.0.block.1.conv1.weight",
                "down.0.block.1.bn.weight", "down.0.block.1.bn.bias",
                "head.weight", "head.bias"), names);
        // State dicts add buffers right after their module's parameters, as PyTorch orders them.
        List<String> state = List.copyOf(net.stateDict().keySet());
        assertEquals("down.0.block.0.bn.bias", state.get(4));
        assertEquals("down.0.block.0.bn.running_mean", state.get(5));
        assertEquals("down.0.block.0.bn.num_batches_tracked", state.get(7));
        assertEquals(2 * (4 + 4 + 144 + 8) + 10, net.numParameters());
    }

    @Test
    void loadStateDictCopiesInPlaceAndReportsProblems() {
        Net a = new Net(), b = new Net();
        Tensor w = b.head.weight;
        b.loadStateDict(a.stateDict(), true);
        assertSame(w, b.head.weight);
        GradCheck.assertClose("copied", a.head.weight, b.head.weight, 0);

        Map<String, Tensor> bad = new HashMap<>(a.stateDict());
        bad.remove("head.bias");
        bad.put("head.extra", Tensor.zeros(1));
        bad.put("down.0.block.0.conv1.weight", Tensor.zeros(4, 4, 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(bad, true));
        assertTrue(e.getMessage().contains("missing head.bias"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected head.extra"), e.getMessage());
        assertTrue(e.getMessage().contains("down.0.block.0.conv1.weight (checkpoint [4, 4, 1, 1], model [4, 4, 3, 3])"), e.getMessage());
        Module.LoadReport r = b.loadStateDict(bad, false);
        assertEquals(List.of("head.bias"), r.missing());
        assertFalse(r.clean());
    }

    @Test
    void trainAndEvalReachEveryModule() {
        Net net = new Net();
        net.eval();
        assertFalse(net.down.get(0).block.get(1).bn.isTraining());
        net.train();
        assertTrue(net.down.get(0).block.get(1).bn.isTraining());
    }

    @Test
    void batchNormUpdatesItsBuffersOnlyInTraining() {
        BatchNorm2d bn = new BatchNorm2d(3);
        Tensor x = Tensor.randn(new Generator(1), 4, 3, 2, 2).mul(2f).add(1f);
        bn.forward(x);
        assertEquals(1L, bn.numBatchesTracked.toLongArray()[0]);
        float mean0 = bn.runningMean.get(0);
        assertTrue(mean0 != 0f);
        bn.eval();
        bn.forward(x);
        assertEquals(mean0, bn.runningMean.get(0));
        assertEquals(1L, bn.numBatchesTracked.toLongArray()[0]);
    }

    @Test
    void defaultInitHasPyTorchBounds() {
        Linear l = new Linear(100, 300, true, new Generator(3));
        float bound = 1f / 10f; // 1/sqrt(fan_in)
        float max = l.weight.abs().max().item(), bmax = l.bias.abs().max().item();
        assertTrue(max <= bound && max > 0.95f * bound, "weight bound " + max);
        assertTrue(bmax <= bound && bmax > 0.8f * bound, "bias bound " + bmax);
        Conv2d c = new Conv2d(8, 4, 3, 1, 1, false, new Generator(4));
        assertTrue(c.weight.abs().max().item() <= 1f / (float) Math.sqrt(72));
        Tensor e = new Embedding(1000, 50, new Generator(5)).weight;
        assertEquals(1.0, e.var(true).item(), 0.05);
    }

    @Test
    void sequentialChainsAndNamesByIndex() {
        Sequential s = new Sequential()
                .add(new Conv2d(3, 4, 4, 2, 1, true))
                .add(Activation.leakyRelu(0.2f))
                .add(new Conv2d(4, 1, 4, 1, 1, true));
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(s.namedParameters().keySet()));
        Tensor y = s.forward(Tensor.randn(new Generator(6), 2, 3, 16, 16));
        assertEquals(List.of(2, 1, 7, 7), java.util.Arrays.stream(y.shape()).boxed().toList());
    }

    @Test
    void duplicateNamesAreRejected() {
        class Bad extends Module {
            Bad() {
                parameter("w", Tensor.zeros(1));
                parameter("w", Tensor.zeros(1));
            }
        }
        assertThrows(IllegalArgumentException.class, Bad::new);
    }
}
