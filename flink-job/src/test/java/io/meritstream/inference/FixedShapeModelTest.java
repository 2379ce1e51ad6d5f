package io.meritstream.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class FixedShapeModelTest {
    @Test
    void batchSizesArePowersOfTwoUpToTheMaximum() {
        assertThat(FixedShapeModel.batchSizes(1)).containsExactly(1);
        assertThat(FixedShapeModel.batchSizes(8)).containsExactly(1, 2, 4, 8);
        assertThat(FixedShapeModel.batchSizes(48)).containsExactly(1, 2, 4, 8, 16, 32, 48);
    }

    @Test
    void warmUpRunsEveryFixedShapeOnceAndCallsOnlyUseThoseShapes() throws Exception {
        FakeWindowModel fake = new FakeWindowModel();
        FixedShapeModel model = new FixedShapeModel(fake, 8, 4_000);
        model.warmUp();
        assertThat(fake.batchSizes()).containsExactly(1, 2, 4, 8);
        assertThat(fake.batches).allSatisfy(b -> assertThat(b[0]).hasSize(4_000));
        fake.batches.clear();

        // 3 windows of 1,000 samples (a batcher's padded batch): the model sees 4 x 4,000, the caller gets 3 x 1,000.
        float[][] batch = new float[3][1_000];
        for (int i = 0; i < 3; i++) {
            batch[i][0] = i + 1;
            batch[i][999] = -(i + 1);
        }
        BatchOutput out = model.run(batch, new ModelCall());
        assertThat(fake.batchSizes()).containsExactly(4);
        assertThat(fake.batches.get(0)[0]).hasSize(4_000);
        assertThat(out.enhanced()).hasNumberOfRows(3);
        for (int i = 0; i < 3; i++) {
            assertThat(out.enhanced()[i]).hasSize(1_000);
            assertThat(out.enhanced()[i][0]).isEqualTo(2f * (i + 1));
            assertThat(out.enhanced()[i][999]).isEqualTo(-2f * (i + 1));
            assertThat(out.emotionLogits()[i][0]).isEqualTo(i + 1f);
        }
        assertThat(out.routingSe()).hasNumberOfRows(3);
        assertThat(out.routingSer()).hasNumberOfRows(3);
        // The padded rows are silence: nothing of them comes back.
        assertThat(List.of(fake.batches.get(0)[3]))
                .allSatisfy(row -> assertThat(row).containsOnly(0f));
    }

    @Test
    void aBatchBeyondTheMaximumOrAWindowBeyondTheLengthIsRefused() {
        FixedShapeModel model = new FixedShapeModel(new FakeWindowModel(), 4, 1_000);
        assertThatThrownBy(() -> model.run(new float[5][1_000]))
                .hasMessageContaining("larger than the largest fixed size 4");
        assertThatThrownBy(() -> model.run(new float[1][1_001]))
                .hasMessageContaining("longer than the fixed length 1000");
    }
}
