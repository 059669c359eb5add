"""Small real PDF, Word and HTML reports written by the tests themselves (reportlab with its
built-in STSong-Light CID font, python-docx, plain HTML), plus broken ones to refuse."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from qa.bench.formats import HEADER as PDF_HEADER
from qa.bench.formats import LINE_EMS, SIZE, wrap, write_report_pdf
from qa.bench.formats import URL as PDF_URL

__all__ = ["PDF_HEADER", "PDF_URL"]

#: page → paragraphs. On page 1 a line break falls inside 4.2万亩 (the paragraph is padded
#: until it does) and the last paragraph runs on to page 2.
PDF_PAGES = [
    ["一、过去一年的工作回顾",
     "过去一年，全县上下坚持稳中求进工作总基调，经济社会发展取得新成效。全年粮⻝播种面积"
     "达到4.2万亩，⻘⽯县粮⻝总产量达到9.6万吨，比上年增长3.5%。",
     "⼯业经济稳步回升。规模以上工业增加值增长8.1%，新增规上企业17家。"
     + "新材料和食品加工两个产业实现产值56.3亿元，全县工业用电量增长7.9%，" * 30
     + "工业税收增长11.4%，企业利润总额增长9.7%。"],
    ["二、2024年主要目标任务",
     "地区生产总值增长6%左右，一般公共预算收入增长5%，新建高标准农田3.5万亩。"],
    ["三、保障措施",
     "坚持把招商引资作为一号工程，全年引进亿元以上项目20个，到位资金45亿元。"],
]


def _split_number(text: str, number: str) -> str:
    """``text`` padded at its start (全县…) until a line break falls inside ``number``."""
    cut = number[:number.index(".") + 1]
    for pad in range(40):
        candidate = "全县" * pad + text
        if any(line.endswith(cut) for line in wrap(candidate, LINE_EMS * SIZE, 2 * SIZE)):
            return candidate
    raise AssertionError("no padding breaks the line inside the number")


def pdf_pages() -> list[list[str]]:
    pages = [list(p) for p in PDF_PAGES]
    pages[0][1] = _split_number(pages[0][1], "4.2")
    return pages


def write_pdf(path: Path, header: bool = True) -> Path:
    write_report_pdf(path, pdf_pages(), header=header)
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF with drawings and no text layer, as a scan is."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for _page in range(2):
        for i in range(30):
            c.rect(72, 700 - 20 * i, 400 - 7 * i, 12, fill=1)
        c.showPage()
    c.save()
    return path


def write_encrypted_pdf(source: Path, path: Path) -> Path:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(path, "wb") as f:
        writer.write(f)
    return path


DOCX_TITLE = "青石县2023年统计公报"


def write_docx(path: Path) -> Path:
    """A Word report: a title, headings (Heading 1/2), body paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = DOCX_TITLE
    document.add_heading(DOCX_TITLE, level=0)  # Title style
    document.add_heading("一、综合", level=1)
    document.add_paragraph("初步核算，全年全县地区生产总值156.8亿元，比上年增长5.9%。")
    document.add_heading("二、农业", level=1)
    document.add_paragraph("全年粮食总产量达到9.6万吨，比上年增长3.5%；油料产量1.2万吨。")
    document.add_heading("（一）畜牧业", level=2)
    document.add_paragraph("全年生猪出栏23.4万头，增长4.1%。")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([("指标", "数值", "增长"), ("一般公共预算收入", "9.6亿元", "5.0%"),
                             ("社会消费品零售总额", "61.7亿元", "7.3%")]):
        for i, cell in enumerate(row):
            table.cell(r, i).text = cell
    document.add_heading("三、居民收入", level=1)
    document.add_paragraph("全年城乡居民人均可支配收入28600元，增长6.2%。")
    document.save(str(path))
    return path


def write_zip_bomb_docx(path: Path) -> Path:
    """A .docx-shaped zip whose document.xml unpacks to 60 MB of one character."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<" + b"a" * (60 << 20))
    path.write_bytes(buf.getvalue())
    return path


HTML_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>青石县发布2023年统计公报_青石新闻网</title>
<style>.nav{color:red} body{font-size:14px}</style>
<script>var tracker = "统计代码脚本文字"; function track(){ document.write("广告脚本文字"); }</script>
</head><body>
<div class="header"><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/gov">政务公开</a></div>
<div class="nav"><ul><li><a href="/a">时政要闻</a></li><li><a href="/b">部门动态</a></li></ul></div>
<div class="breadcrumb">当前位置：首页 &gt; 新闻中心 &gt; 时政要闻</div>
<article>
<h1>青石县发布2023年统计公报</h1>
<p>3月15日，青石县统计局发布2023年统计公报。公报显示，全年全县粮食总产量达到9.6万吨，比上年增长3.5%，连续五年保持稳定增长。</p>
<h2>工业经济稳步回升</h2>
<p>全年规模以上工业增加值增长8.1%，新增规模以上工业企业17家。新材料和食品加工两个主导产业实现产值56.3亿元。</p>
<script>track(); var s = "正文中的脚本文字";</script>
<h2>居民收入持续增加</h2>
<p>全年城乡居民人均可支配收入达到28600元，比上年增长6.2%。其中农村居民人均可支配收入19300元，增长7.4%。</p>
<table><tr><th>指标</th><th>数值</th></tr><tr><td>一般公共预算收入</td><td>9.6亿元</td></tr></table>
</article>
<div class="share">分享到：微信 微博 QQ空间</div>
<div class="related"><h3>相关新闻</h3><ul><li><a href="/x1">青石县召开经济工作会议</a></li>
<li><a href="/x2">青石县举办农民丰收节活动</a></li></ul></div>
<div class="footer"><p>版权所有：青石县人民政府办公室 主办单位：青石县融媒体中心</p>
<p>备案号：某ICP备12345678号</p><a href="/sitemap">网站地图</a></div>
</body></html>
"""

#: what the page shows around its article, and what its scripts and styles hold.
HTML_BOILERPLATE = ["首页", "新闻中心", "时政要闻", "当前位置", "分享到", "相关新闻",
                    "青石县召开经济工作会议", "版权所有", "备案号", "网站地图"]
HTML_CODE = ["统计代码", "广告脚本", "正文中的脚本", "color:red", "track()"]


def write_html(path: Path) -> Path:
    path.write_text(HTML_PAGE, encoding="utf-8")
    return path
