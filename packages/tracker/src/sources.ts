// Known networks, as data. One string literal rather than an object literal: it gzips to a
// fraction of the size, and the same table runs in the script tag and in the collector.
//
// Sections are joined by ';'. A section is `channel|network key key …|network key …`.
// A key is one of:
//   host      that host and its subdomains, on whole labels (t.co, wa.me, mail.google.com)
//   name.*    that name on any country ending: google.de, google.co.uk, google.com.br
//   *         short for the network's own `name.*`
//   alias     a utm_source spelling (fb, ig, x)
// A network's own name is an alias too, and a network listed without keys gets `name.*`.
// Android apps are looked up by their package read backwards (com.whatsapp → whatsapp.com), so
// most need no key; the others are listed that way (com.google.android.gm → gm.android.google.com).
// A network with an empty name is a plain referral whose source is the host (maps.google.com is
// not search). The platform section lists payment and sign-in returns, which never credit
// themselves; the click section maps paid click-id parameters to their ad network.
// The longest matching key wins, so mail.google.com beats google.*.
// To add a network, add `|name key key` to its channel's section.
export const TABLE =
  'email|gmail * mail.google.com gm.android.google.com' +
  '|outlook * live.com outlook.office.com outlook.office365.com outlook.cloud.microsoft outlook.office.microsoft.com' +
  '|yahoo-mail mail.yahoo.*|aol-mail mail.aol.*|proton mail.proton.me protonmail.*|zoho-mail mail.zoho.*' +
  '|gmx * deref-gmx.*|web.de deref-web.de deref-web-02.de|naver-mail mail.naver.*|daum-mail mail.daum.net|yandex-mail mail.yandex.*' +
  '|mail.ru|qq-mail mail.qq.com|icloud' +
  ';search|google * googlequicksearchbox.android.google.com|bing * ntp.msn.com bing.microsoft.com|yahoo search.yahoo.*|yandex * ya.ru' +
  '|baidu|duckduckgo|ecosia|brave search.brave.*|qwant|startpage|naver search.naver.*|sogou|360 so.com 360.cn' +
  '|seznam|daum search.daum.*|aol search.aol.*|ask ask.com|mail.ru go.mail.ru|coccoc|petal petalsearch.*|kagi' +
  ';social|facebook * fb.me fb.com fb.watch fb|instagram * ig|threads * barcelona.instagram.com' +
  '|messenger * m.me orca.facebook.com|twitter * t.co x.com x|linkedin * lnkd.in li' +
  '|tiktok * zhiliaoapp.com ugc.android.ss.com|youtube * youtu.be yt youtube.android.google.com|snapchat' +
  '|pinterest * pin.it|reddit * redd.it|whatsapp * wa.me wl.co|telegram * t.me|discord * discordapp.com' +
  '|slack * slack-redir.net|line line.me line.naver.jp|bluesky bsky.app blueskyweb.xyz|mastodon mastodon.social|vk * vkontakte.*' +
  '|ok.ru|weibo|tumblr|quora|hackernews news.ycombinator.com|twitch|vimeo|viber|wechat weixin.qq.com mm.tencent.com' +
  '|teams teams.microsoft.com teams.live.com|linktree linktr.ee|biolink bio.link|lnkbio lnk.bio' +
  '|beacons beacons.ai beacons.page|campsite campsite.bio|taplink|soloto solo.to|linkinbio linkin.bio' +
  ';referral|wikipedia|chatgpt chatgpt.com chat.openai.com|claude|perplexity|gemini gemini.google.com bard.google.com' +
  '|copilot copilot.microsoft.com|deepseek|grok|mistral' +
  '| maps.google.* docs.google.com drive.google.com sites.google.com calendar.google.com groups.google.com play.google.com' +
  ' android.google.com' +
  ';paid|google googleadservices.com googlesyndication.com doubleclick.net syndicatedsearch.goog adservice.google.* adwords gads' +
  ';platform| stripe.com paypal.* adyen.com klarna.* mollie.com braintreegateway.com cardinalcommerce.com' +
  ' accounts.google.* appleid.apple.com login.microsoftonline.com login.live.com' +
  ';click|google gclid gbraid wbraid dclid|bing msclkid|tiktok ttclid|twitter twclid|linkedin li_fat_id' +
  '|snapchat ScCid|pinterest epik|reddit rdt_cid';

/** [channel, network name]; the name is '' for forced referrals and the platform section. */
export type Network = readonly [string, string];

/** TABLE parsed: key → network. */
export const NETWORKS: Record<string, Network> = {};

for (const section of TABLE.split(';')) {
  const [channel, ...networks] = section.split('|');
  for (const network of networks) {
    const [name, ...keys] = network.split(' ');
    const n: Network = [channel, name];
    NETWORKS[name] = NETWORKS[name] || n;
    for (const k of keys[0] ? keys : ['*']) NETWORKS[k == '*' ? name + '.*' : k] = n;
  }
}
