"""Every dataset evrepro knows: sensor, classes, archives (mirrors, size, checksum, date), layout, splits.

Adding a dataset is an entry here plus, when its bytes are new, a reader in ``evrepro.events`` and
a layout in ``evrepro.datasets.layouts``. Values come from each release's own pages and files: every checksum
names where it was recorded and when.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Archive:
    """One downloadable file and what it must be."""

    filename: str
    urls: tuple[str, ...]  # every known mirror, newest first
    size: int | None
    sha256: str | None
    verified: str  # date the size and hash were last recorded upstream
    md5: str | None = None  # only where that is all that was ever published


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: how to obtain it, how its extracted files are laid out, and what they mean."""

    name: str
    title: str
    sensor_size: tuple[int, int]  # (width, height)
    class_names: tuple[str, ...]  # in the papers' order; the index is the label
    layout: str  # a key of evrepro.datasets.layouts.LAYOUTS
    archives: tuple[Archive, ...] = ()
    generator: str | None = None  # an embedded dataset is generated, not downloaded
    official_splits: tuple[str, ...] = ()  # splits the release itself defines; the rest are derived
    orientation: tuple[str, ...] = ()  # fixes applied when the events store is built (datasets.orientation)
    task: str = "classification"
    boxes: bool = False  # each sample also has an annotated box: a detection run can train on it (N-Caltech101)
    unused_classes: tuple[str, ...] = ()  # in class_names (the papers' label space) but never in the data
    manual: str = ""  # set when no URL can be downloaded: what to obtain and where to put it
    licence: str = ""
    citation: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks a run on this dataset can train for: its own, and detection where its samples have boxes."""
        return (self.task, "detection") if self.boxes and self.task != "detection" else (self.task,)

    def how_to_obtain(self) -> str:
        """One paragraph: generated, downloaded automatically, or what the user must do."""
        if self.generator:
            return "generated locally (no download)"
        if self.manual:
            return self.manual
        total = sum(archive.size or 0 for archive in self.archives)
        return (f"downloaded automatically: {len(self.archives)} archive(s), {total / 1e9:.2f} GB; or set "
                f"datasets.{self.name}.root to a folder holding the archives or an extracted copy")


DIGIT_NAMES = tuple(str(digit) for digit in range(10))

# events-tfds' caltech101_labels.txt: Caltech101's 101 categories and its background, lower-cased and
# sorted. N-Caltech101 removed "Faces" (keeping "Faces_easy"), so label "faces" never occurs; ECN's
# network has 102 outputs for this list.
NCALTECH101_NAMES = tuple("""
accordion airplanes anchor ant background_google barrel bass beaver binocular bonsai brain brontosaurus buddha
butterfly camera cannon car_side ceiling_fan cellphone chair chandelier cougar_body cougar_face crab crayfish
crocodile crocodile_head cup dalmatian dollar_bill dolphin dragonfly electric_guitar elephant emu euphonium ewer
faces faces_easy ferry flamingo flamingo_head garfield gerenuk gramophone grand_piano hawksbill headphone hedgehog
helicopter ibis inline_skate joshua_tree kangaroo ketch lamp laptop leopards llama lobster lotus mandolin mayfly
menorah metronome minaret motorbikes nautilus octopus okapi pagoda panda pigeon pizza platypus pyramid revolver
rhino rooster saxophone schooner scissors scorpion sea_horse snoopy soccer_ball stapler starfish stegosaurus
stop_sign strawberry sunflower tick trilobite umbrella watch water_lilly wheelchair wild_cat windsor_chair wrench
yin_yang""".split())

# events-tfds' order, which ECN trained with: not CIFAR-10's (ship, truck, frog, horse close the list).
CIFAR10_DVS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "ship", "truck", "frog", "horse")
CIFAR10_DVS_FILES = (  # (class, figshare file id, bytes, sha256): events-tfds v0.1 cifar10_dvs 0.0.2
    ("airplane", 7712788, 747_054_427, "9d6191188bc5d09a50614677fd2ba5bacda140ccea8a9cfebde8b0089ad9cf00"),
    ("automobile", 7712791, 970_159_102, "7eb280fb1da6673e99ab05967256c00be227507444523079699463bf06c1cc9d"),
    ("bird", 7712794, 760_766_288, "05b44f05080a9236230cfbb3e1a0948ce7153fae8c233b6d86cd0ee76e30379f"),
    ("cat", 7712812, 843_271_197, "5afdde5e1e631b2939f9ea9dbdab1c2c50f98dd4910c0012568ef1c9fb6a9375"),
    ("deer", 7712815, 778_283_422, "fc4306f2876f1844fdae82babe31a492e905e67c481a1fa92aac0097078f09cb"),
    ("dog", 7712818, 844_609_875, "21e657bc3e960e99c1b76b03457e51cadf68c4f9a77ca6c9765d60297b0526ca"),
    ("ship", 7712836, 742_404_857, "cd04b0e42bf84c5237b62fd91723db91b7760fabe2c6b2a7a5da61d2766e9a1b"),
    ("truck", 7712839, 950_111_954, "0fafec811d8cec57b10f92212ac9e8d037b39f38ec3115de709db60b1b8b2017"),
    ("frog", 7712842, 818_824_848, "6837a43d5c88e116b21b7e38b4551f067fcee8ef1971a455bba3b4415c7d4812"),
    ("horse", 7712851, 929_265_395, "d7221ac72a6a4bd1d7b4a393f22123f49d6468746e74c60b53eaab995250ae67"),
)

MNIST_DVS_FILES = (  # (digit, bytes, sha256): events-tfds url_checksums/mnist_dvs.txt
    (0, 790_469_447, "4263ec792b86015b52533d0a34970b7d0fbf26d3245e5a705515021050165b65"),
    (1, 456_285_815, "aad599ba4c96c9ed4484adaf4c0a49138d87a7ff4b1ff759f999f46b04ecf620"),
    (2, 579_069_198, "872089b93263c7cf9a7f5d105df4bccf00b7c600a7c7ee960f453559e4718e36"),
    (3, 555_396_246, "82b120d031af135b3006d17c07a861508bb2c98e3919d41d2556fd20f6dbe7c7"),
    (4, 491_628_272, "4e0f87859743233e0f587f963c7a05931cf61cd4f26b647abf02794a4651673c"),
    (5, 636_477_424, "d11345b2d282367f2836e9ba94fe1bfd3bbc707094d15298364bf9c905ed43b3"),
    (6, 520_197_908, "9144d1f80d6e5e2ddd5ebcc5e98ea33b50974c54776ecd800dcd86b06196ed3d"),
    (7, 633_912_358, "b498053366b6b6ab979ac3dedbbc4417041e203569ecac8287cf018e9836ce67"),
    (8, 802_631_746, "dbce305d64f9f2bda87dae58966289e0070102f56ef1506b2f5c27f9e86b947d"),
    (9, 739_912_195, "c9d9087a1db0b4e4af1904b3481c8d9bdc8fb6b4ea757d51d4b0c6341b8dd280"),
)

ASL_DVS_NAMES = tuple("abcdefghiklmnopqrstuvwxy")  # 24 letters: no j, no z

GEN1_MANUAL = (
    "needs a registration with Prophesee (no public URL, no published checksum): request the 'Prophesee Gen1 "
    "Automotive Detection Dataset' at https://www.prophesee.ai/2020/01/24/prophesee-gen1-automotive-detection-"
    "dataset/, download its 10 7z archives (6 train, 2 val, 2 test; 200 GB), extract them so that one folder "
    "holds train/, val/ and test/ with each recording's *_td.dat and *_bbox.npy (the release calls it "
    "detection_dataset_duration_60s_ratio_1.0), and set datasets.gen1.root to that folder"
)

REGISTRY: dict[str, DatasetSpec] = {
    "digits": DatasetSpec(
        name="digits",
        title="digits: scikit-learn's handwritten digits recorded like N-MNIST (embedded, generated)",
        sensor_size=(34, 34),
        class_names=DIGIT_NAMES,
        layout="nmnist",
        generator="digits",
        official_splits=("train", "test"),
        licence="BSD-3-Clause (scikit-learn's bundled UCI digits)",
        citation="Alpaydin & Kaynak, UCI Optical Recognition of Handwritten Digits; simulated by evrepro",
    ),
    "traffic": DatasetSpec(
        name="traffic",
        title="traffic: cars and pedestrians crossing a still sensor, written as Gen1 (embedded, generated)",
        sensor_size=(64, 48),
        class_names=("car", "pedestrian"),
        layout="gen1",
        generator="traffic",
        task="detection",
        official_splits=("train", "val", "test"),
        licence="generated by evrepro (no third-party data)",
        citation="simulated by evrepro in the layout of de Tournemire et al.'s Gen1 (arXiv:2001.08499, 2020)",
        notes=("Gen1's files at a fifth of its resolution: *_td.dat with '% Width 64' / '% Height 48' headers and "
               "*_bbox.npy with the legacy ts/confidence fields; boxes every 100 ms.",),
    ),
    "nmnist": DatasetSpec(
        name="nmnist",
        title="N-MNIST (Orchard et al. 2015)",
        sensor_size=(34, 34),
        class_names=DIGIT_NAMES,
        layout="nmnist",
        official_splits=("train", "test"),
        archives=(
            Archive(
                filename="468j46mzdv-1.zip",
                urls=("https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/468j46mzdv-1.zip",),
                size=1_178_661_068,
                sha256="e6964c15ef4013c91127790ea570d46200778262b9f5f8acd5c1366099d8e351",
                verified="2024-02-12",
            ),
        ),
        licence="CC BY 4.0",
        citation="Orchard, Jayawant, Cohen, Thakor. Converting static image datasets to spiking neuromorphic "
        "datasets using saccades. Frontiers in Neuroscience, 2015.",
        notes=("The Mendeley zip holds one folder with Train.zip and Test.zip; extraction unpacks both.",
               "The Dropbox folder of events-tfds v0.1 is dead since 2022 (tonic #177)."),
    ),
    "ncaltech101": DatasetSpec(
        name="ncaltech101",
        title="N-Caltech101 (Orchard et al. 2015), with its box annotations",
        sensor_size=(240, 180),
        class_names=NCALTECH101_NAMES,
        layout="ncaltech101",
        boxes=True,
        unused_classes=("faces",),
        archives=(
            Archive(
                filename="cy6cvx3ryv-1.zip",
                urls=("https://prod-dcd-datasets-cache-zipfiles.s3.eu-west-1.amazonaws.com/cy6cvx3ryv-1.zip",),
                size=3_991_470_277,
                sha256="5cf34932049665c4740c7c3fa126bc6b8a5e007691fdd3a4e3171d30f8908930",
                verified="2024-02-12",
            ),
        ),
        licence="CC BY 4.0",
        citation="Orchard, Jayawant, Cohen, Thakor. Converting static image datasets to spiking neuromorphic "
        "datasets using saccades. Frontiers in Neuroscience, 2015.",
        notes=("The Mendeley zip nests Caltech101.zip (Caltech101/<Class>/image_NNNN.bin) and "
               "Caltech101_annotations.zip (<class>/annotation_NNNN.bin: box and contour).",
               "Labels follow events-tfds' 102 names (ECN's outputs); 'faces' is never used.",
               "No official split: train/val/test are derived per class from sample ids (split_seed)."),
    ),
    "ncars": DatasetSpec(
        name="ncars",
        title="N-CARS (Sironi et al., HATS, CVPR 2018)",
        sensor_size=(120, 100),
        class_names=("car", "background"),  # AEGNN's order
        layout="ncars",
        official_splits=("train", "test"),
        archives=(
            Archive(
                filename="Prophesee_Dataset_n_cars.zip",
                urls=("http://www.prophesee.ai/resources/Prophesee_Dataset_n_cars.zip",),
                size=450_543_128,
                sha256="e10b2e00f8b258aab3b36924044d6b3d52de5251fb53e2b827e843b3fc26b245",
                verified="2020-10-19",
                md5="553ce464d6e5e617b3c21ce27c19368e",
            ),
        ),
        licence="Prophesee's terms (research use)",
        citation="Sironi, Brambilla, Bourdis, Lagorce, Benosman. HATS: Histograms of Averaged Time Surfaces for "
        "Robust Event-based Object Classification. CVPR 2018.",
        notes=("The zip nests n-cars_train.zip and n-cars_test.zip, each with cars/ and background/ of "
               "obj_NNNNNN_td.dat (Prophesee Event2D); read directly, no third-party text conversion.",
               "The release has no validation split; val is derived from train (split_seed)."),
    ),
    "gen1": DatasetSpec(
        name="gen1",
        title="Prophesee Gen1 Automotive Detection (de Tournemire et al. 2020)",
        sensor_size=(304, 240),
        class_names=("car", "pedestrian"),
        layout="gen1",
        task="detection",
        official_splits=("train", "val", "test"),
        manual=GEN1_MANUAL,
        licence="Prophesee Gen1 Automotive Detection Dataset licence (registration required)",
        citation="de Tournemire, Nitti, Perot, Migliore, Sironi. A Large Scale Event-based Detection Dataset for "
        "Automotive. arXiv:2001.08499, 2020.",
        notes=("60 s recordings: *_td.dat (Event2D, '% Height 240' / '% Width 304' headers) with *_bbox.npy "
               "(legacy ts/confidence or current t/class_confidence fields).",),
    ),
    "cifar10-dvs": DatasetSpec(
        name="cifar10-dvs",
        title="CIFAR10-DVS (Li et al. 2017), the original AEDAT 2.0 recordings",
        sensor_size=(128, 128),
        class_names=CIFAR10_DVS_NAMES,
        layout="by_class_folder",
        orientation=("flip_x", "invert_polarity"),
        archives=tuple(
            Archive(filename=f"{name}.zip", urls=(f"https://ndownloader.figshare.com/files/{file_id}",),
                    size=size, sha256=sha256, verified="2020-10-19")
            for name, file_id, size, sha256 in CIFAR10_DVS_FILES
        ),
        licence="CC BY 4.0",
        citation="Li, Liu, Ji, Li, Shi. CIFAR10-DVS: An Event-Stream Dataset for Object Classification. "
        "Frontiers in Neuroscience, 2017.",
        notes=("One zip per class: <class>/cifar10_<class>_<id>.aedat (AEDAT 2.0, DVS128 addressing).",
               "x -> 127 - x and inverted polarity, as the dataset's dat2mat.m and events-tfds read it.",
               "tonic's CIFAR10DVS.zip is an AEDAT 4 re-encode, not these bytes."),
    ),
    "mnist-dvs": DatasetSpec(
        name="mnist-dvs",
        title="MNIST-DVS (Serrano-Gotarredona & Linares-Barranco 2015)",
        sensor_size=(128, 128),
        class_names=DIGIT_NAMES,
        layout="mnist_dvs",
        archives=tuple(
            Archive(filename=f"grabbed_data{digit}.zip",
                    urls=(f"http://www2.imse-cnm.csic.es/caviar/MNIST_DVS/grabbed_data{digit}.zip",),
                    size=size, sha256=sha256, verified="2020-10-19")
            for digit, size, sha256 in MNIST_DVS_FILES
        ),
        licence="research use (IMSE-CNM)",
        citation="Serrano-Gotarredona, Linares-Barranco. Poker-DVS and MNIST-DVS. Their History, How They Were "
        "Made, and Other Details. Frontiers in Neuroscience, 2015.",
        notes=("One zip per digit: grabbed_data<d>/scale<4|8|16>/*.aedat (AEDAT 2.0, DVS128 addressing).",
               "datasets.mnist-dvs.scale picks the scale (ECN's paper: 16; events-tfds' default: 4)."),
    ),
    "asl-dvs": DatasetSpec(
        name="asl-dvs",
        title="ASL-DVS (Bi et al., ICCV 2019)",
        sensor_size=(240, 180),
        class_names=ASL_DVS_NAMES,
        layout="by_class_folder",
        orientation=("flip_y",),
        archives=(
            Archive(
                filename="ICCV2019_DVS_dataset.zip",
                urls=("https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa?dl=1",),
                size=5_807_293_496,
                sha256="678cd56af14e4889f1939fecd90265fcdb87c5e025dcfafa667d2849ec536924",
                verified="2024-02-12",
            ),
        ),
        licence="research use (see PIX2NVS/NVS2Graph)",
        citation="Bi, Chadha, Abbas, Bourtsoulatze, Andreopoulos. Graph-based Object Classification for "
        "Neuromorphic Vision Sensing. ICCV 2019.",
        notes=("The zip nests 'Yin Bi - <letter>.zip', each <letter>/*.mat (MATLAB v5: ts, x, y, pol).",
               "Dropbox builds the folder zip on the fly: its size and hash have changed before (tonic #197); "
               "events-tfds v0.1 recorded 5,807,293,040 bytes, sha256 d771785a...",
               "The stored y axis is upside down: y -> 179 - y, applied to every split."),
    ),
}


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry for ``name``; the error lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
