"""A plain single-sequence DiMP / TrDiMP tracker in pytracking's own structure (tests only).

Written step by step after pytracking's ``DiMP.initialize`` / ``DiMP.track`` and TransformerTrack's
``TrDiMP`` (scalar branches, one window, ``F.pad`` + ``F.interpolate`` crops, Python loops), with
its randomness drawn from one ``torch.Generator`` in pytracking's order (init shifts, dropout,
jitter boxes). The batched tracker must give the same boxes.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dimp_doubles import reference_gauss_label, reference_sample_patch

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _crop_to_output(image, out, shift):
    pad_h = (out - image.shape[2]) / 2
    pad_w = (out - image.shape[3]) / 2
    return F.pad(image, (math.floor(pad_w) + shift[1], math.ceil(pad_w) - shift[1],
                         math.floor(pad_h) + shift[0], math.ceil(pad_h) - shift[0]), "replicate")


def _apply(kind, param, image):
    if kind in ("identity", "translation", "dropout"):
        return image
    if kind == "fliplr":
        return image.flip((3,))
    if kind == "blur":
        fs = [math.ceil(2 * s) for s in param]
        x = [torch.arange(-n, n + 1, dtype=torch.float32) for n in fs]
        f = [torch.exp(-(xx ** 2) / (2 * s ** 2)) for xx, s in zip(x, param)]
        f0, f1 = f[0].view(1, 1, -1, 1) / f[0].sum(), f[1].view(1, 1, 1, -1) / f[1].sum()
        h, w = image.shape[2:]
        im1 = F.conv2d(image.view(-1, 1, h, w), f0, padding=(fs[0], 0))
        return F.conv2d(im1, f1, padding=(0, fs[1])).view(1, -1, h, w)
    if kind == "rotate":
        a = math.pi * param / 180
        im = np.ascontiguousarray(image.squeeze(0).permute(1, 2, 0).numpy())
        c = (np.expand_dims(np.array(im.shape[:2]), 1) - 1) / 2
        R = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
        H = np.concatenate([R, c - R @ c], 1)
        return torch.from_numpy(cv2.warpAffine(im, H, im.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)).permute(2, 0, 1)[None]
    raise ValueError(kind)


def rect_to_rel(bb, sz_norm):
    c = bb[..., :2] + 0.5 * bb[..., 2:]
    return torch.cat((c / sz_norm, torch.log(bb[..., 2:])), dim=-1)


def rel_to_rect(bb, sz_norm):
    sz = torch.exp(bb[..., 2:])
    tl = bb[..., :2] * sz_norm - 0.5 * sz
    return torch.cat((tl, sz), dim=-1)


def reference_refine(reg, init_boxes, space, iters, step):
    """pytracking optimize_boxes_default / _relative, one sequence at a time."""
    out = init_boxes.view(1, -1, 4)
    if space == "relative":
        sz_norm = out[:, :1, 2:].clone()
        rel = rect_to_rel(out, sz_norm)
        for _ in range(iters):
            b = rel.clone().detach().requires_grad_(True)
            o = reg(rel_to_rect(b, sz_norm))
            o.backward(gradient=torch.ones_like(o))
            rel = (b + step * b.grad).detach()
        return rel_to_rect(rel, sz_norm).view(-1, 4), o.detach().view(-1)
    for _ in range(iters):
        b = out.clone().detach().requires_grad_(True)
        o = reg(b)
        o.backward(gradient=torch.ones_like(o))
        out = (b + step * b.grad * b[:, :, 2:].repeat(1, 1, 2)).detach()
    return out.view(-1, 4), o.detach().view(-1)


class ReferenceDiMP:
    def __init__(self, net, params, seed):
        self.net, self.p, self.g = net, params, torch.Generator().manual_seed(seed)

    def _feat(self, patches):
        return self.net.extract_backbone_features((patches / 255 - MEAN) / STD)

    def get_iounet_box(self, pos, sz, sample_pos, sample_scale):
        box_center = (pos - sample_pos) / sample_scale + (self.img_sample_sz - 1) / 2
        box_sz = sz / sample_scale
        target_ul = box_center - (box_sz - 1) / 2
        return torch.cat([target_ul.flip((0,)), box_sz.flip((0,))])

    def initialize(self, image, box):
        p = self.p
        self.frame_num = 1
        im = torch.from_numpy(image).float().permute(2, 0, 1).unsqueeze(0)
        self.pos = torch.Tensor([box[1] + (box[3] - 1) / 2, box[0] + (box[2] - 1) / 2])
        self.target_sz = torch.Tensor([box[3], box[2]])
        self.image_sz = torch.Tensor([im.shape[2], im.shape[3]])
        self.img_sample_sz = torch.Tensor([p.image_sample_size] * 2)
        search_area = torch.prod(self.target_sz * p.search_area_scale).item()
        self.target_scale = math.sqrt(search_area) / self.img_sample_sz.prod().sqrt()
        self.base_target_sz = self.target_sz / self.target_scale
        # generate_init_samples ('replicate' / 'inside_major': no global shift)
        self.init_sample_scale = self.target_scale
        self.init_sample_pos = self.pos.round()
        aug_sz = (self.img_sample_sz * p.augmentation_expansion_factor).long()
        aug_sz += (aug_sz - self.img_sample_sz.long()) % 2
        aug_sz = aug_sz.float()
        out = int(self.img_sample_sz[0])

        def rand_shift():
            return ((torch.rand(2, generator=self.g) - 0.5) * self.img_sample_sz * p.random_shift_factor).long().tolist()

        T = [("identity", None, [0, 0])]
        aug = p.augmentation
        for s in aug.get("relativeshift", []):
            T.append(("translation", None, (torch.Tensor(s) * self.img_sample_sz / 2).long().tolist()))
        if aug.get("fliplr"):
            T.append(("fliplr", None, rand_shift()))
        for s in aug.get("blur", []):
            T.append(("blur", s, rand_shift()))
        for a in aug.get("rotate", []):
            T.append(("rotate", a, rand_shift()))
        big, _ = reference_sample_patch(im, self.init_sample_pos, self.init_sample_scale * aug_sz, int(aug_sz[0]))
        patches = torch.cat([_crop_to_output(_apply(k, prm, big), out, sh) for k, prm, sh in T])
        feat = self._feat(patches)
        x = self.net.extract_classification_feat(feat)
        if "dropout" in aug:
            num, prob = aug["dropout"]
            T.extend(T[:1] * num)
            keep = (torch.rand(num, x.shape[1], generator=self.g) >= prob).float() / (1 - prob)
            x = torch.cat([x, x[0:1].expand(num, -1, -1, -1) * keep[..., None, None]])
        self.feature_sz = torch.Tensor(list(x.shape[-2:]))
        ksz = self.net.classifier.filter_size
        self.kernel_size = torch.Tensor([ksz, ksz])
        base = self.get_iounet_box(self.pos, self.target_sz, self.init_sample_pos, self.init_sample_scale)
        boxes = torch.stack([base + torch.Tensor([t[2][1], t[2][0], 0, 0]) for t in T])
        if p.use_transformer:
            self.labels = torch.stack([reference_gauss_label(b, 0.1, ksz, int(self.feature_sz[0]), float(out))
                                       for b in boxes]).unsqueeze(1)
            self.x_clf = x
            self.memory, _ = self.net.classifier.transformer.encoder(x.unsqueeze(1), pos=None)
            x = torch.cat([self.net.classifier.transformer.decoder(x[i][None, None], memory=self.memory, pos=self.labels,
                                                                   query_pos=None)[1] for i in range(x.shape[0])])
        w0 = self.net.classifier.filter_initializer(x[:, None], boxes[:, None])
        self.filter = self.net.classifier.filter_optimizer(w0, feat=x[:, None], bb=boxes[:, None], num_iter=p.net_opt_iter,
                                                           compute_losses=False)[0]
        # memory
        M = p.sample_memory_size
        self.n_init = x.shape[0]
        self.n_stored = self.n_init
        self.prev_ind = None
        self.sw = x.new_zeros(M)
        self.sw[:self.n_init] = 1 / self.n_init
        self.samples = x.new_zeros(M, *x.shape[1:])
        self.samples[:self.n_init] = x
        self.boxes = boxes.new_zeros(M, 4)
        self.boxes[:self.n_init] = boxes
        # iou net
        iou_bb = [f[:1] for f in self.net.get_backbone_bbreg_feat(feat)]
        self.mod = [m.mean(0)[None] for m in self.net.bb_regressor.get_modulation(iou_bb, boxes[:1])]

    def track(self, image):
        p = self.p
        self.frame_num += 1
        im = torch.from_numpy(image).float().permute(2, 0, 1).unsqueeze(0)
        patch, coord = reference_sample_patch(im, self.pos, self.target_scale * self.img_sample_sz,
                                              int(self.img_sample_sz[0]), p.border_mode, p.get("patch_max_scale_change", None))
        feat = self._feat(patch)
        x_clf = self.net.extract_classification_feat(feat)
        test_x = x_clf
        if p.use_transformer:
            test_x = self.net.classifier.transformer.decoder(x_clf[None], memory=self.memory, pos=self.labels,
                                                             query_pos=None)[1]
        coord = coord.float()
        sample_pos = 0.5 * (coord[0, :2] + coord[0, 2:] - 1)
        sample_scale = ((coord[0, 2:] - coord[0, :2]) / self.img_sample_sz).prod().sqrt()
        s = self.net.classifier.classify(self.filter, test_x[:, None])[0, 0]
        trans, flag = self.localize(s, sample_pos, sample_scale)
        new_pos = sample_pos + trans
        if flag != "not_found":
            inside = (0.2 - 0.5) * self.target_sz
            self.pos = torch.max(torch.min(new_pos, self.image_sz - inside), inside)
            self.refine(feat, sample_pos, sample_scale, p.update_scale_when_uncertain or flag != "uncertain")
        if flag not in ("not_found", "uncertain") and p.update_classifier:
            hn = flag == "hard_negative"
            lr = p.hard_negative_learning_rate if hn else p.learning_rate
            box = self.get_iounet_box(self.pos, self.target_sz, sample_pos, sample_scale)
            self.update_memory(test_x[0], box, lr)
            n_it = p.net_opt_hn_iter if hn else (p.net_opt_update_iter if (self.frame_num - 1) % p.train_skipping == 0 else 0)
            if n_it > 0:
                n = min(self.n_stored, p.sample_memory_size)
                self.filter = self.net.classifier.filter_optimizer(
                    self.filter, feat=self.samples[:n, None], bb=self.boxes[:n, None].clone(),
                    sample_weight=self.sw[:n, None], num_iter=n_it, compute_losses=False)[0]
            if p.use_transformer and (self.frame_num - 1) % p.transformer_skipping == 0:
                lab = reference_gauss_label(box, 0.1, self.net.classifier.filter_size, int(self.feature_sz[0]),
                                            float(self.img_sample_sz[0]))[None, None]
                if self.x_clf.shape[0] < p.transformer_memory_size:
                    self.labels, self.x_clf = torch.cat([lab, self.labels]), torch.cat([x_clf, self.x_clf])
                else:
                    self.labels, self.x_clf = torch.cat([lab, self.labels[:-1]]), torch.cat([x_clf, self.x_clf[:-1]])
                self.memory, _ = self.net.classifier.transformer.encoder(self.x_clf.unsqueeze(1), pos=None)
        if flag != "not_found" and hasattr(self, "pos_iounet"):
            self.pos = self.pos_iounet.clone()
        return torch.cat((self.pos[[1, 0]] - (self.target_sz[[1, 0]] - 1) / 2, self.target_sz[[1, 0]])).tolist(), flag

    def localize(self, scores, sample_pos, sample_scale):
        p = self.p
        sz = scores.shape[-2:]
        score_sz = torch.Tensor(list(sz))
        output_sz = score_sz - (self.kernel_size + 1) % 2
        center = (score_sz - 1) / 2
        m1, i1 = scores.flatten().max(0)
        d1 = torch.Tensor([int(i1) // sz[1], int(i1) % sz[1]])
        t1 = d1 - center
        tv1 = t1 * (self.img_sample_sz / output_sz) * sample_scale
        if not p.advanced_localization:
            return tv1, None
        if m1.item() < p.target_not_found_threshold:
            return tv1, "not_found"
        neigh = p.target_neighborhood_scale * (self.target_sz / sample_scale) * (output_sz / self.img_sample_sz)
        top = max(round(d1[0].item() - neigh[0].item() / 2), 0)
        bot = min(round(d1[0].item() + neigh[0].item() / 2 + 1), sz[0])
        left = max(round(d1[1].item() - neigh[1].item() / 2), 0)
        right = min(round(d1[1].item() + neigh[1].item() / 2 + 1), sz[1])
        masked = scores.clone()
        masked[top:bot, left:right] = 0
        m2, i2 = masked.flatten().max(0)
        t2 = torch.Tensor([int(i2) // sz[1], int(i2) % sz[1]]) - center
        tv2 = t2 * (self.img_sample_sz / output_sz) * sample_scale
        prev = (self.pos - sample_pos) / ((self.img_sample_sz / output_sz) * sample_scale)
        if m2 > p.distractor_threshold * m1:
            n1 = torch.sqrt(torch.sum((t1 - prev) ** 2))
            n2 = torch.sqrt(torch.sum((t2 - prev) ** 2))
            thr = p.dispalcement_scale * math.sqrt(sz[0] * sz[1]) / 2
            if n2 > thr and n1 < thr:
                return tv1, "hard_negative"
            if n2 < thr and n1 > thr:
                return tv2, "hard_negative"
            return tv1, "uncertain"
        if m2 > p.hard_negative_threshold * m1 and m2 > p.target_not_found_threshold:
            return tv1, "hard_negative"
        return tv1, "normal"

    def refine(self, feat, sample_pos, sample_scale, update_scale):
        p = self.p
        init_box = self.get_iounet_box(self.pos, self.target_sz, sample_pos, sample_scale)
        iou_feat = self.net.bb_regressor.get_iou_feat(self.net.get_backbone_bbreg_feat(feat))
        boxes = init_box.view(1, 4).clone()
        if p.num_init_random_boxes > 0:
            sq = init_box[2:].prod().sqrt()
            rf = sq * torch.cat([p.box_jitter_pos * torch.ones(2), p.box_jitter_sz * torch.ones(2)])
            min_edge = init_box[2:].min() / 3
            rb = (torch.rand(p.num_init_random_boxes, 4, generator=self.g) - 0.5) * rf
            nsz = (init_box[2:] + rb[:, 2:]).clamp(min_edge)
            nc = (init_box[:2] + init_box[2:] / 2) + rb[:, :2]
            boxes = torch.cat([init_box.view(1, 4), torch.cat([nc - nsz / 2, nsz], 1)])
        reg = lambda bb: self.net.bb_regressor.predict_iou(self.mod, iou_feat, bb)  # noqa: E731
        with torch.enable_grad():
            out, iou = reference_refine(reg, boxes, p.box_refinement_space, p.box_refinement_iter,
                                         p.box_refinement_step_length)
        out[:, 2:].clamp_(1)
        ar = out[:, 2] / out[:, 3]
        keep = (ar < p.maximal_aspect_ratio) * (ar > 1 / p.maximal_aspect_ratio)
        out, iou = out[keep], iou[keep]
        if out.shape[0] == 0:
            return
        _, inds = torch.topk(iou, min(p.iounet_k, out.shape[0]))
        box = out[inds].mean(0)
        new_pos = (box[:2] + box[2:] / 2).flip((0,))
        new_pos = (new_pos - (self.img_sample_sz - 1) / 2) * sample_scale + sample_pos
        new_sz = box[2:].flip((0,)) * sample_scale
        self.pos_iounet = new_pos.clone()
        self.pos = new_pos.clone()
        self.target_sz = new_sz
        if update_scale:
            self.target_scale = torch.sqrt(new_sz.prod() / self.base_target_sz.prod())

    def update_memory(self, x, box, lr):
        M = self.sw.shape[0]
        if self.n_stored < M:
            r = self.n_stored
        else:
            r = int(torch.min(self.sw[self.n_init:], 0)[1]) + self.n_init
        if self.prev_ind is None:
            self.sw /= 1 - lr
            self.sw[r] = lr
        else:
            self.sw[r] = self.sw[self.prev_ind] / (1 - lr)
        self.sw /= self.sw.sum()
        if self.sw[:self.n_init].sum() < 0.25:
            self.sw /= 0.25 + self.sw[self.n_init:].sum()
            self.sw[:self.n_init] = 0.25 / self.n_init
        self.prev_ind = r
        self.samples[r] = x
        self.boxes[r] = box
        self.n_stored += 1
